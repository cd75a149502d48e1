"""Pure decisions about texts and tickets (SPEC M4, M5, M7, M12, M14).

No I/O and no clock: workflows call these deterministically and activities reuse them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from core.messages import TicketStatus

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


class KeywordClass(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    SUBSCRIBE = "subscribe"
    AUTOMATION = "automation"
    #: HELP and INFO are keywords, yet they do create a ticket (M4).
    HELP = "help"
    NONE = "none"


class Disposition(StrEnum):
    """What became of an inbound text."""

    TICKET = "ticket"
    KEYWORD = "keyword"
    NOT_CONSENTED = "not_consented"
    BEFORE_SYNC = "before_sync"


class TicketAction(StrEnum):
    CREATE = "create"
    COMMENT = "comment"
    REOPEN = "reopen"
    FOLLOW_UP = "follow_up"


def classify_keyword(
    body: str, *, subscribe_keywords: list[str], automation_keywords: list[str]
) -> KeywordClass:
    """M5: a keyword is the whole message, trimmed, in any case."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return KeywordClass.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return KeywordClass.OPT_IN
    if word in HELP_KEYWORDS:
        return KeywordClass.HELP
    if word in {k.strip().upper() for k in subscribe_keywords}:
        return KeywordClass.SUBSCRIBE
    if word in {k.strip().upper() for k in automation_keywords}:
        return KeywordClass.AUTOMATION
    return KeywordClass.NONE


def disposition(
    keyword: KeywordClass,
    *,
    consented: bool,
    received_at: datetime,
    sync_enabled_at: datetime | None,
) -> Disposition:
    """M4/M12/M14: does this text become (part of) a ticket, and if not, why."""
    if sync_enabled_at is not None and received_at < sync_enabled_at:
        return Disposition.BEFORE_SYNC
    if keyword not in (KeywordClass.NONE, KeywordClass.HELP):
        return Disposition.KEYWORD
    if not consented:
        return Disposition.NOT_CONSENTED
    return Disposition.TICKET


def ticket_action(status: TicketStatus | None) -> TicketAction:
    """M7: what a new customer text does to the conversation's current ticket."""
    if status is None:
        return TicketAction.CREATE
    if status is TicketStatus.CLOSED:
        return TicketAction.FOLLOW_UP
    if status in (TicketStatus.NEW, TicketStatus.OPEN):
        return TicketAction.COMMENT
    # pending, hold and solved all become open again when the customer writes.
    return TicketAction.REOPEN


def attributable(
    *,
    window_opened_at: datetime | None,
    already_attributed: bool,
    received_at: datetime,
    window: timedelta,
) -> bool:
    """M18: is this customer text the first one inside the attribution window of the last
    campaign or flow text the customer received?"""
    if window_opened_at is None or already_attributed:
        return False
    return window_opened_at <= received_at <= window_opened_at + window

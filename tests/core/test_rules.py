from datetime import UTC, datetime, timedelta

import pytest

from core.messages import TicketStatus
from core.rules import (
    Disposition,
    KeywordClass,
    TicketAction,
    classify_keyword,
    disposition,
    ticket_action,
)

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def classify(body: str) -> KeywordClass:
    return classify_keyword(body, subscribe_keywords=["JOIN", "vip"], automation_keywords=["PROMO"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", KeywordClass.OPT_OUT),
        ("  stopall \n", KeywordClass.OPT_OUT),
        ("Unsubscribe", KeywordClass.OPT_OUT),
        ("revoke", KeywordClass.OPT_OUT),
        ("optout", KeywordClass.OPT_OUT),
        ("start", KeywordClass.OPT_IN),
        ("UNSTOP", KeywordClass.OPT_IN),
        ("yes", KeywordClass.OPT_IN),
        ("join", KeywordClass.SUBSCRIBE),
        ("VIP", KeywordClass.SUBSCRIBE),
        ("promo", KeywordClass.AUTOMATION),
        ("help", KeywordClass.HELP),
        ("INFO", KeywordClass.HELP),
        ("please stop texting me", KeywordClass.NONE),  # whole message only
        ("STOP!", KeywordClass.NONE),
        ("", KeywordClass.NONE),
    ],
)
def test_keywords_match_the_whole_trimmed_message_in_any_case(
    body: str, expected: KeywordClass
) -> None:
    assert classify(body) is expected


@pytest.mark.parametrize(
    ("keyword", "consented", "expected"),
    [
        (KeywordClass.NONE, True, Disposition.TICKET),
        (KeywordClass.HELP, True, Disposition.TICKET),
        (KeywordClass.NONE, False, Disposition.NOT_CONSENTED),
        (KeywordClass.HELP, False, Disposition.NOT_CONSENTED),
        (KeywordClass.OPT_OUT, True, Disposition.KEYWORD),
        (KeywordClass.OPT_IN, False, Disposition.KEYWORD),
        (KeywordClass.SUBSCRIBE, True, Disposition.KEYWORD),
        (KeywordClass.AUTOMATION, True, Disposition.KEYWORD),
    ],
)
def test_only_consented_non_keyword_texts_and_help_make_tickets(
    keyword: KeywordClass, consented: bool, expected: Disposition
) -> None:
    assert (
        disposition(keyword, consented=consented, received_at=NOW, sync_enabled_at=None) is expected
    )


def test_texts_received_before_sync_was_enabled_are_never_ticketed() -> None:
    enabled = NOW
    before = disposition(
        KeywordClass.NONE,
        consented=True,
        received_at=NOW - timedelta(seconds=1),
        sync_enabled_at=enabled,
    )
    after = disposition(KeywordClass.NONE, consented=True, received_at=NOW, sync_enabled_at=enabled)
    assert (before, after) == (Disposition.BEFORE_SYNC, Disposition.TICKET)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, TicketAction.CREATE),
        (TicketStatus.NEW, TicketAction.COMMENT),
        (TicketStatus.OPEN, TicketAction.COMMENT),
        (TicketStatus.PENDING, TicketAction.REOPEN),
        (TicketStatus.HOLD, TicketAction.REOPEN),
        (TicketStatus.SOLVED, TicketAction.REOPEN),
        (TicketStatus.CLOSED, TicketAction.FOLLOW_UP),
    ],
)
def test_ticket_status_rules(status: TicketStatus | None, expected: TicketAction) -> None:
    assert ticket_action(status) is expected

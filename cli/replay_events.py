"""The recorded events `replay` reads: one JSON object per line (the schema is in `cli/replay.py`).

Every line is checked before anything is sent, so a file with a typo on line 400 does not leave
a half-replayed backfill behind.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from core.messages import TicketStatus
from core.phone import to_e164

#: A conversation is one (account number, customer phone) pair, as in `core.conversation`.
Conversation = tuple[str, str]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    #: When the event happened when it was recorded. It keeps the file readable and is shown in
    #: errors; the product sees replay time, as it would see a live event.
    at: datetime


def _e164(value: str) -> str:
    return to_e164(value)


class InboundText(_Event):
    """A customer's text, posted to `/webhooks/sms/inbound` as the SMS provider would."""

    type: Literal["inbound_sms"]
    from_: str = Field(alias="from")
    to: str
    body: str
    message_sid: str = Field(min_length=1)
    media_urls: list[str] = Field(default_factory=list)

    _phones = field_validator("from_", "to")(_e164)

    @property
    def conversation(self) -> Conversation:
        return self.to, self.from_


class OutboundText(_Event):
    """A text the brand sent from elsewhere, posted to `/webhooks/outbound`."""

    type: Literal["outbound_sms"]
    from_: str = Field(alias="from")
    to: str
    body: str
    message_id: str = Field(min_length=1)
    kind: Literal["campaign", "flow", "other"] = "campaign"
    campaign_or_flow_id: str | None = None
    name: str | None = None

    _phones = field_validator("from_", "to")(_e164)

    @property
    def conversation(self) -> Conversation:
        return self.from_, self.to


class AgentComment(_Event):
    """An agent's comment on the conversation's current ticket, optionally changing its status."""

    type: Literal["agent_comment"]
    customer: str
    sender: str
    body: str = Field(min_length=1)
    public: bool = True
    #: The agent's Zendesk user id; None: the user the API credentials belong to.
    author_id: int | None = None
    status: TicketStatus | None = None

    _phones = field_validator("customer", "sender")(_e164)

    @property
    def conversation(self) -> Conversation:
        return self.sender, self.customer


class StatusChange(_Event):
    """An agent (or an automation) setting the status of the conversation's current ticket."""

    type: Literal["status_change"]
    customer: str
    sender: str
    status: TicketStatus
    author_id: int | None = None

    _phones = field_validator("customer", "sender")(_e164)

    @property
    def conversation(self) -> Conversation:
        return self.sender, self.customer


ReplayEvent = Annotated[
    InboundText | OutboundText | AgentComment | StatusChange, Field(discriminator="type")
]
AgentEvent = AgentComment | StatusChange
_EVENT = TypeAdapter(ReplayEvent)


class Recorded(BaseModel):
    """One line of the file: its number, its text (for stable ids) and the parsed event."""

    model_config = ConfigDict(frozen=True)

    line: int
    raw: str
    event: ReplayEvent

    @property
    def label(self) -> str:
        return f"line {self.line} {self.event.type}"


class ReplayFileError(Exception):
    """The file has lines that are not events; `problems` names each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} bad line(s): " + "; ".join(problems[:5]))
        self.problems = problems


def parse_lines(lines: list[str]) -> list[Recorded]:
    """The events of a JSONL text, in file order; blank lines are skipped.

    Raises:
        ReplayFileError: naming every bad line and what is wrong with it.
    """
    recorded, problems = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            recorded.append(Recorded(line=number, raw=raw, event=_EVENT.validate_json(raw)))
        except ValidationError as exc:
            reasons = ", ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'line'}: {error['msg']}"
                for error in exc.errors()
            )
            problems.append(f"line {number}: {reasons}")
    if problems:
        raise ReplayFileError(problems)
    return recorded


def load_events(path: Path) -> list[Recorded]:
    """Read and check a whole JSONL file (see `parse_lines`)."""
    return parse_lines(path.read_text(encoding="utf-8").splitlines())

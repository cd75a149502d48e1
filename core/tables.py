"""The product database's tables (sqlmodel). Temporal holds in-flight state; this holds records.

- `Subscriber`: consent changes made by keywords (STOP/START...), which win over a stale profile.
- `MessageLog`: every text in both directions (M10) with its segment count (M20). Outbound rows
  double as the send journal that makes SMS sends exactly-once (see `activities/sms.py`).
- `TicketLink`: which conversation a Zendesk ticket belongs to, so Zendesk events find it.
- `Attribution`: customer texts attributed to the campaign or flow text before them (M18).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Consent(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SendStatus(StrEnum):
    RECEIVED = "received"
    #: Written before the provider call: a row left here means the outcome is unknown.
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class Subscriber(SQLModel, table=True):
    phone: str = Field(primary_key=True)
    consent: Consent
    keyword: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class MessageLogBase(SQLModel):
    conversation_id: str = Field(index=True)
    direction: Direction
    kind: str
    from_number: str
    to_number: str
    body: str
    encoding: str
    segments: int
    ticket_id: int | None = Field(default=None, index=True)
    disposition: str | None = None
    agent_id: int | None = None


class MessageLog(MessageLogBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str | None = Field(default=None, unique=True)
    idempotency_key: str | None = Field(default=None, unique=True)
    status: SendStatus
    error_code: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class TicketLink(SQLModel, table=True):
    ticket_id: int = Field(primary_key=True)
    conversation_id: str = Field(index=True)
    sender_number: str
    customer_phone: str
    follow_up_of: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Attribution(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(index=True)
    #: The customer's text; unique, so recording an attribution twice is a no-op.
    message_sid: str = Field(unique=True)
    outbound_message_id: str
    origin: str
    campaign_or_flow_id: str | None = None
    name: str | None = None
    ticket_id: int | None = None
    attributed_at: datetime = Field(default_factory=utcnow)

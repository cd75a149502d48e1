"""The product database's tables (sqlmodel). Temporal holds in-flight state; this holds records.

- `Subscriber`: consent changes made by keywords (STOP/START...), which win over a stale profile.
- `MessageLog`: every text in both directions (M10) with its segment count (M20). Outbound rows
  double as the send journal that makes SMS sends exactly-once (see `activities/sms.py`).
- `TicketLink`: which conversation a Zendesk ticket belongs to, so Zendesk events find it.
- `ZendeskRequester`: the contact of each requester smsdesk found or made, as Zendesk last
  answered it, so a ticket smsdesk opened becomes an Opened Ticket event without reading it back.
- `Attribution`: customer texts attributed to the campaign or flow text before them (M18).
- `ZendeskBudget`: Zendesk's request budgets, shared by every worker process (B14).
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
    #: The ticket as Zendesk's create response showed it (JSON), for its Opened Ticket event.
    opened_as: str | None = None


class ZendeskRequester(SQLModel, table=True):
    user_id: int = Field(primary_key=True)
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    #: When Zendesk last answered with this contact (create_or_update of the user).
    seen_at: datetime = Field(default_factory=utcnow)


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


class IntakeEvent(SQLModel, table=True):
    """An event a webhook accepted while Temporal could not take it at once (B9).

    The row is the event's durable home until the forwarder hands it to its workflow and
    deletes it. `id` gives the arrival order; `dedupe_key` (workflow id + the event's own
    dedupe id) makes a redelivered webhook a no-op while its first copy still waits here.
    """

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(index=True)
    #: `signal_with_start` (a conversation), `signal` (a running workflow) or `start`
    #: (a TicketMetrics workflow).
    action: str
    dedupe_key: str = Field(unique=True)
    #: The conversation's two numbers, which signal-with-start needs to build its input.
    sender_number: str | None = None
    customer_phone: str | None = None
    #: The signal's event or the workflow's input, as JSON.
    payload: str
    received_at: datetime = Field(default_factory=utcnow, index=True)
    attempts: int = 0
    last_error: str | None = None


class IntakeClaim(SQLModel, table=True):
    """Which forwarder is handing one workflow's journaled events over, until when.

    One claimant per workflow keeps its events in order across several forwarders (webhook
    replicas); the lease lets another take over when a claimant dies.
    """

    workflow_id: str = Field(primary_key=True)
    owner: str
    expires_at: datetime


class ReconcileCursor(SQLModel, table=True):
    """How far the reconciler has read a source (B1, B10): Zendesk's ticket events, the SMS
    provider's Messages list."""

    source: str = Field(primary_key=True)
    position: datetime
    updated_at: datetime = Field(default_factory=utcnow)


class ZendeskBudget(SQLModel, table=True):
    """One of Zendesk's request budgets (B5, B14), shared by every process that calls Zendesk.

    Times are epoch seconds on the database's clock, so hosts whose clocks differ still agree.
    `next_at` is the earliest moment the next request may be sent: each request takes the slot
    it names and moves it one interval on, in a single atomic UPDATE. `paused_until` is set
    from a 429's Retry-After or from rate-limit headers saying that others spend the account;
    no slot is handed out before it.
    """

    name: str = Field(primary_key=True)
    next_at: float = 0.0
    paused_until: float = 0.0

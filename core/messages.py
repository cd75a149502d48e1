"""The events a conversation receives, as pydantic models shared by webhooks and workflows.

Each carries the provider's own id (`MessageSid`, Zendesk event id) so a redelivered webhook is
recognised and dropped by the workflow, across continue-as-new as well.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from core.markers import written_by_smsdesk


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"
    CLOSED = "closed"


class InboundSms(BaseModel):
    """A text a customer sent to one of the account's numbers."""

    kind: Literal["inbound_sms"] = "inbound_sms"
    message_sid: str
    customer_phone: str
    sender_number: str
    body: str
    media_urls: list[str] = Field(default_factory=list)
    #: `MediaContentType{N}` of each of `media_urls` (B7). Journaled intake events and
    #: histories from before it parse with none: the type is then read from the download.
    media_types: list[str] = Field(default_factory=list)
    received_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"sms:{self.message_sid}"


class AgentComment(BaseModel):
    """A comment added to a ticket, as Zendesk's `ticket.comment_added` event reports it."""

    kind: Literal["agent_comment"] = "agent_comment"
    event_id: str
    ticket_id: int
    comment_id: int
    body: str
    is_public: bool
    author_id: int
    author_is_staff: bool
    author_name: str | None = None
    created_at: datetime

    @property
    def dedupe_id(self) -> str:
        # Keyed on the comment, not the event: the reconciler may report the same comment again.
        return f"comment:{self.comment_id}"

    @property
    def why_not_texted(self) -> str | None:
        """Why this comment is no reply to text the customer (M8), or None if it is one."""
        if not self.is_public:
            return "an internal note"
        # Loop safety: smsdesk writes the customer's texts as the customer and its notes as
        # private, so these two checks keep its own writes from echoing back (B13 dropped the
        # body marker). A staff comment marked by a version before B13 was smsdesk's too.
        if not self.author_is_staff:
            return "the customer's own comment"
        if written_by_smsdesk(self.body):
            return "written by smsdesk itself"
        return None


class TicketStatusChanged(BaseModel):
    """Zendesk's `ticket.status_changed` event."""

    kind: Literal["ticket_status"] = "ticket_status"
    event_id: str
    ticket_id: int
    status: TicketStatus
    previous: TicketStatus | None = None
    changed_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"status:{self.event_id}"


#: The query parameter of the status callback URL that names the text's message-log row.
TEXT_ID_PARAMETER = "text_id"


class DeliveryStatus(BaseModel):
    """An SMS provider status callback for a text we sent."""

    kind: Literal["delivery_status"] = "delivery_status"
    message_sid: str
    status: str
    error_code: int | None = None
    #: The text's message-log row (None for callbacks of texts sent before URLs carried it).
    text_id: int | None = None

    @property
    def dedupe_id(self) -> str:
        return f"delivery:{self.message_sid}:{self.status}"


class OutboundSms(BaseModel):
    """A text the brand sent the customer from elsewhere (a campaign, a flow, another tool)."""

    kind: Literal["outbound_sms"] = "outbound_sms"
    message_id: str
    origin: Literal["campaign", "flow", "other"]
    campaign_or_flow_id: str | None = None
    name: str | None = None
    sender_number: str
    customer_phone: str
    body: str
    sent_at: datetime

    @property
    def dedupe_id(self) -> str:
        return f"outbound:{self.message_id}"

    @property
    def opens_attribution_window(self) -> bool:
        return self.origin in ("campaign", "flow")


ConversationEvent = Annotated[
    InboundSms | AgentComment | TicketStatusChanged | DeliveryStatus | OutboundSms,
    Field(discriminator="kind"),
]

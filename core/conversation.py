"""What a conversation workflow is started with and what it carries across continue-as-new.

A conversation is one (sender number, customer phone) pair. Its workflow id is derived from both
numbers, or from a keyed hash of them when PII protection is on, so the raw numbers never show
up in Temporal's visibility store.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from core.messages import ConversationEvent, TicketStatus
from core.settings import Settings

WORKFLOW_NAME = "SmsConversation"
#: Every search attribute the conversation writes, with its type (the Temporal CLI's spelling);
#: the worker checks the namespace has them (`infra.temporal_checks`).
SEARCH_ATTRIBUTES = {
    "CustomerPhone": "Keyword",
    "SenderNumber": "Keyword",
    "ZendeskTicketId": "Int",
    "ConversationStatus": "Keyword",
}
CUSTOMER_PHONE = SearchAttributeKey.for_keyword("CustomerPhone")
SENDER_NUMBER = SearchAttributeKey.for_keyword("SenderNumber")
ZENDESK_TICKET_ID = SearchAttributeKey.for_int("ZendeskTicketId")
CONVERSATION_STATUS = SearchAttributeKey.for_keyword("ConversationStatus")
#: The conversation's one query (its `ConversationView`). Its signals are named after the
#: events' `kind`s in `core.messages`, one signal per kind.
STATE_QUERY = "state"
WORKFLOW_ID_PREFIX = "sms-conversation-"
#: The conversation workflow's code generation: a run started at generation N takes every change
#: of generations up to N from its first event and asks no `workflow.patched` (see
#: workflows/versions.py).
WORKFLOW_GENERATION = 1
#: smsdesk's own Zendesk end-users carry the customer's phone after this prefix in their
#: external id, since Zendesk cannot match users by phone (`sms:+15551234567`).
SMS_EXTERNAL_ID_PREFIX = "sms:"
#: How many provider ids a conversation remembers to drop redelivered webhooks. Redeliveries
#: arrive within minutes, so the most recent ids are the ones that matter.
SEEN_IDS_LIMIT = 500
FAILED_EVENTS_LIMIT = 50


#: Zendesk allows 30 updates per ticket per 10 minutes; smsdesk keeps 5 of them for agents.
TICKET_UPDATE_BUDGET = 25
TICKET_UPDATE_WINDOW = timedelta(minutes=10)
#: Updates that may go one after another; after them, one per `TICKET_UPDATE_PACE`. Together
#: never more than the budget in a window (10 + 600 s / 40 s = 25), and a busy ticket is
#: written every 40 s instead of 25 times at once and then not for the rest of 10 minutes.
TICKET_UPDATE_BURST = 10
TICKET_UPDATE_PACE = TICKET_UPDATE_WINDOW / (TICKET_UPDATE_BUDGET - TICKET_UPDATE_BURST)


def paced_update_at(updates: Sequence[datetime]) -> datetime | None:
    """When the next update of a ticket may go by the pace (None: it may go now or there is
    nothing to pace), from the times of its recent updates, oldest first.

    The generic cell rate algorithm: each update moves the theoretical next update one pace on
    from itself or from the one before, whichever is later; an update may come up to
    `TICKET_UPDATE_BURST - 1` paces early.
    """
    if not updates:
        return None
    theoretical = updates[0]
    for at in updates:
        theoretical = max(theoretical, at) + TICKET_UPDATE_PACE
    return theoretical - (TICKET_UPDATE_BURST - 1) * TICKET_UPDATE_PACE


class ConversationPolicy(BaseModel):
    """The settings a conversation workflow needs, frozen into its input (workflows read no env)."""

    zendesk_task_queue: str
    sms_brand_id: int | None = None
    subscribe_keywords: list[str]
    automation_keywords: list[str]
    sms_sync_enabled_at: datetime | None = None
    auto_responder_text: str
    #: The auto-responder goes out at most once per this long, so a chatty sender is not spammed.
    auto_responder_every: timedelta = timedelta(hours=24)
    auto_close_after: timedelta = timedelta(hours=24)
    attribution_window: timedelta = timedelta(hours=24)
    inactivity_close_after: timedelta | None = None
    pii_protection: bool = False
    #: Continue as new after this many handled events, besides when the server suggests it
    #: (tests lower it to exercise continue-as-new; None leaves it to the server).
    continue_as_new_after: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationPolicy:
        return cls(
            zendesk_task_queue=settings.zendesk_task_queue,
            sms_brand_id=settings.zendesk_sms_brand_id,
            subscribe_keywords=settings.subscribe_keywords,
            automation_keywords=settings.automation_keywords,
            sms_sync_enabled_at=settings.sms_sync_enabled_at,
            auto_responder_text=settings.auto_responder_text,
            auto_close_after=settings.auto_close_after,
            attribution_window=settings.attribution_window,
            inactivity_close_after=settings.inactivity_close_after,
            pii_protection=settings.pii_protection,
            continue_as_new_after=settings.continue_as_new_after_events,
        )


class AttributionWindow(BaseModel):
    """The last campaign or flow text the customer received (M18)."""

    message_id: str
    origin: str
    campaign_or_flow_id: str | None = None
    name: str | None = None
    opened_at: datetime
    #: Set once the first customer text inside the window has been attributed.
    attributed_to_sid: str | None = None


class FailedEvent(BaseModel):
    """An event whose handling failed for good (e.g. Zendesk refused the credentials)."""

    event: ConversationEvent
    error: str


class ConversationState(BaseModel):
    """Everything a conversation remembers; carried whole into the next run."""

    ticket_id: int | None = None
    ticket_status: TicketStatus | None = None
    last_closed_ticket_id: int | None = None
    requester_id: int | None = None
    customer_email: str | None = None
    auto_responder_sent_at: datetime | None = None
    #: When the ticket was last seen to become solved: the auto-close timer runs from here.
    solved_at: datetime | None = None
    last_customer_text_at: datetime | None = None
    attribution: AttributionWindow | None = None
    #: When smsdesk last wrote to the current ticket (most recent last), for Zendesk's limit of
    #: updates per ticket per window.
    ticket_updates: list[datetime] = Field(default_factory=list)
    texts_received: int = 0
    replies_sent: int = 0
    #: Whether this conversation already looked up its last ticket (once, on its first run).
    recalled: bool = False
    seen_ids: list[str] = Field(default_factory=list)
    failed: list[FailedEvent] = Field(default_factory=list)
    #: Events received but not yet processed when the run continued as new.
    pending: list[ConversationEvent] = Field(default_factory=list)


class ConversationInput(BaseModel):
    conversation_id: str
    sender_number: str
    customer_phone: str
    #: What the `SenderNumber`/`CustomerPhone` search attributes hold (hashed under PII protection).
    sender_search_value: str
    customer_search_value: str
    policy: ConversationPolicy
    state: ConversationState = Field(default_factory=ConversationState)
    #: The code generation that started this run; 0 for runs started before generations, whose
    #: changes are decided by the patch markers in their histories.
    generation: int = 0

    @classmethod
    def for_numbers(
        cls, sender_number: str, customer_phone: str, settings: Settings
    ) -> ConversationInput:
        return cls(
            conversation_id=conversation_id(sender_number, customer_phone, settings),
            sender_number=sender_number,
            customer_phone=customer_phone,
            sender_search_value=searchable_phone(sender_number, settings),
            customer_search_value=searchable_phone(customer_phone, settings),
            policy=ConversationPolicy.from_settings(settings),
            generation=WORKFLOW_GENERATION,
        )

    @property
    def identity_search_attributes(self) -> TypedSearchAttributes:
        """Given at start, so the run need not upsert them (each upsert is a visibility write)."""
        return TypedSearchAttributes(
            [
                SearchAttributePair(CUSTOMER_PHONE, self.customer_search_value),
                SearchAttributePair(SENDER_NUMBER, self.sender_search_value),
            ]
        )


def conversation_id(sender_number: str, customer_phone: str, settings: Settings) -> str:
    """The workflow id of the conversation between an account number and a customer."""
    return WORKFLOW_ID_PREFIX + conversation_key(sender_number, customer_phone, settings)


def names_a_conversation(external_id: str | None) -> bool:
    """Whether a ticket's external id is a conversation's workflow id: smsdesk opened it."""
    return (external_id or "").startswith(WORKFLOW_ID_PREFIX)


def conversation_key(sender_number: str, customer_phone: str, settings: Settings) -> str:
    if settings.pii_protection:
        return pii_hash(f"{sender_number}|{customer_phone}", settings)
    return f"{sender_number.lstrip('+')}-{customer_phone.lstrip('+')}"


def pii_hash(value: str, settings: Settings) -> str:
    """A keyed hash that stands in for a phone number in ids and search attributes."""
    assert settings.pii_hash_key is not None  # Settings refuses PII protection without a key.
    key = settings.pii_hash_key.get_secret_value().encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def searchable_phone(phone: str, settings: Settings) -> str:
    """The value stored in the `CustomerPhone`/`SenderNumber` search attributes."""
    return pii_hash(phone, settings) if settings.pii_protection else phone


# The workflow's answers live here, outside the workflow's module: the sandbox re-imports that
# module for every new run, and building these pydantic classes again each time was a third of
# a new conversation's workflow-instance cost.
class ConversationView(BaseModel):
    """What the `state` query answers."""

    conversation_id: str
    sender_number: str
    customer_phone: str
    state: ConversationState
    queued: int
    #: True while an event is being handled (its activities may still be running).
    busy: bool
    next_deadline: datetime | None


class ConversationResult(BaseModel):
    last_ticket_id: int | None
    texts_received: int
    replies_sent: int

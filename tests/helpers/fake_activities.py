"""Every activity `SmsConversation` calls, as small in-memory fakes registered under the real
activity names: the conversation's decisions are tested without HTTP or a database.

The fakes keep just enough of the world to answer as the real ones would (a ticket's status in
Zendesk, the customer's consent, the last ticket of the conversation) and record each call
with its argument and the task queue it ran on, for the tests to assert on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.agent_media import AgentMediaActivities, AgentMediaInput, AgentMediaResult
from activities.customers import (
    AUTO_RESPONDER_KIND,
    CustomerActivities,
    CustomerContext,
    CustomerInput,
    TriageInput,
    TriageResult,
    fates_of,
)
from activities.media import MediaActivities, MediaUploadInput, MediaUploadResult, UploadedMedia
from activities.records import (
    AttributionInput,
    LatestTicket,
    LatestTicketInput,
    OutboundRecordInput,
    RecordActivities,
    Recorded,
)
from activities.sms import DeliveryInput, DeliveryResult, SendSmsInput, SendSmsResult, SmsActivities
from activities.zendesk import (
    AgentInput,
    AgentResult,
    CommentResult,
    CustomerCommentInput,
    InternalNoteInput,
    NoteResult,
    OpenTicketInput,
    RequesterInput,
    RequesterResult,
    TicketLookupInput,
    TicketResult,
    TransitionInput,
    ZendeskActivities,
)
from core.messages import TicketStatus
from core.rules import KeywordClass

REQUESTER_ID = 501
FIRST_TICKET_ID = 1001

M = TypeVar("M")


def name_of(method: Any) -> str:
    """The activity name the workflow calls `method` by: the fakes answer to the same one."""
    definition = activity._Definition.must_from_callable(method)
    assert definition.name is not None
    return definition.name


@dataclass
class Call:
    name: str
    arg: BaseModel
    task_queue: str
    local: bool


class FakeActivities:
    """A tiny Zendesk, SMS provider, Klaviyo and product database in one object."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.tickets: dict[int, TicketStatus] = {}
        self.consented = True
        self.customer_email: str | None = None
        self.agent_emails: dict[int, str] = {}
        #: Why the SMS provider refuses every text (None: it sends them).
        self.sms_refusal: str | None = None
        #: The next `open_ticket` fails for good with this error type (e.g. bad credentials).
        self.refuse_open_ticket: str | None = None
        #: Set to hold `open_ticket` until the test clears it (texts queue up meanwhile).
        self.hold_open_ticket: asyncio.Event | None = None
        self.auto_responder_sent_at: datetime | None = None
        self.delivery_ticket: int | None = None

    # --- what the tests read ----------------------------------------------------------------

    def args(self, method: Any, arg_type: type[M]) -> list[M]:
        """The arguments of every call of `method` (a real activity method), in order."""
        name = name_of(method)
        found = [call.arg for call in self.calls if call.name == name]
        assert all(isinstance(a, arg_type) for a in found)
        return found  # type: ignore[return-value]

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def queue_of(self, method: Any) -> set[str]:
        return {call.task_queue for call in self.calls if call.name == name_of(method)}

    def _record(self, arg: BaseModel) -> None:
        info = activity.info()
        self.calls.append(Call(info.activity_type, arg, info.task_queue, info.is_local))

    # --- customers and records (the workflow's own queue) -----------------------------------

    @activity.defn(name=name_of(CustomerActivities.triage_inbound))
    async def triage_inbound(self, request: TriageInput) -> TriageResult:
        self._record(request)
        for item in request.texts:  # a keyword takes effect at once, as in production (M5)
            if item.keyword is KeywordClass.OPT_OUT:
                self.consented = False
            elif item.keyword is KeywordClass.OPT_IN:
                self.consented = True
        return TriageResult(
            customer=self._customer(),
            dispositions=fates_of(request, consented=self.consented),
            auto_responder_sent_at=self.auto_responder_sent_at,
        )

    @activity.defn(name=name_of(CustomerActivities.customer_context))
    async def customer_context(self, request: CustomerInput) -> CustomerContext:
        self._record(request)
        return self._customer()

    def _customer(self) -> CustomerContext:
        return CustomerContext(consented=self.consented, email=self.customer_email, name="Ana")

    @activity.defn(name=name_of(SmsActivities.send_sms))
    async def send_sms(self, request: SendSmsInput) -> SendSmsResult:
        self._record(request)
        if self.sms_refusal is not None:
            return SendSmsResult(sent=False, segments=1, error_code=21610, reason=self.sms_refusal)
        if request.kind == AUTO_RESPONDER_KIND:  # the message log remembers it across runs
            self.auto_responder_sent_at = activity.info().started_time
        return SendSmsResult(sent=True, provider_sid=f"SM-out-{len(self.calls)}", segments=1)

    @activity.defn(name=name_of(SmsActivities.record_delivery))
    async def record_delivery(self, request: DeliveryInput) -> DeliveryResult:
        self._record(request)
        return DeliveryResult(body="Your parcel is on its way", ticket_id=self.delivery_ticket)

    @activity.defn(name=name_of(RecordActivities.record_outbound))
    async def record_outbound(self, request: OutboundRecordInput) -> Recorded:
        self._record(request)
        return Recorded(new=True)

    @activity.defn(name=name_of(RecordActivities.record_attribution))
    async def record_attribution(self, request: AttributionInput) -> Recorded:
        self._record(request)
        return Recorded(new=True)

    @activity.defn(name=name_of(RecordActivities.latest_ticket))
    async def latest_ticket(self, request: LatestTicketInput) -> LatestTicket:
        self._record(request)
        return LatestTicket(ticket_id=max(self.tickets, default=None))

    # --- Zendesk ----------------------------------------------------------------------------

    @activity.defn(name=name_of(ZendeskActivities.ensure_requester))
    async def ensure_requester(self, request: RequesterInput) -> RequesterResult:
        self._record(request)
        return RequesterResult(user_id=REQUESTER_ID)

    @activity.defn(name=name_of(ZendeskActivities.open_ticket))
    async def open_ticket(self, request: OpenTicketInput) -> TicketResult:
        self._record(request)
        if self.hold_open_ticket is not None:
            await self.hold_open_ticket.wait()
        if self.refuse_open_ticket is not None:
            kind, self.refuse_open_ticket = self.refuse_open_ticket, None
            raise ApplicationError("zendesk: 401", type=kind, non_retryable=True)
        ticket_id = max(self.tickets, default=FIRST_TICKET_ID - 1) + 1
        self.tickets[ticket_id] = TicketStatus.NEW
        return TicketResult(ticket_id=ticket_id, status=TicketStatus.NEW)

    @activity.defn(name=name_of(ZendeskActivities.add_customer_comment))
    async def add_customer_comment(self, request: CustomerCommentInput) -> CommentResult:
        self._record(request)
        if self.tickets[request.ticket_id] is TicketStatus.CLOSED:
            return CommentResult(ticket=None)  # "closed prevents ticket update"
        if request.reopen:
            self.tickets[request.ticket_id] = TicketStatus.OPEN
        return CommentResult(ticket=self._ticket(request.ticket_id))

    @activity.defn(name=name_of(ZendeskActivities.add_internal_note))
    async def add_internal_note(self, request: InternalNoteInput) -> NoteResult:
        self._record(request)
        return NoteResult(written=self.tickets[request.ticket_id] is not TicketStatus.CLOSED)

    @activity.defn(name=name_of(ZendeskActivities.describe_agent))
    async def describe_agent(self, request: AgentInput) -> AgentResult:
        self._record(request)
        return AgentResult(email=self.agent_emails.get(request.user_id), name="Agent")

    @activity.defn(name=name_of(ZendeskActivities.get_ticket_status))
    async def get_ticket_status(self, request: TicketLookupInput) -> TicketResult:
        self._record(request)
        return self._ticket(request.ticket_id)

    @activity.defn(name=name_of(ZendeskActivities.transition_ticket))
    async def transition_ticket(self, request: TransitionInput) -> TicketResult:
        self._record(request)
        if self.tickets[request.ticket_id] in request.when:
            self.tickets[request.ticket_id] = request.to_status
        return self._ticket(request.ticket_id)

    def _ticket(self, ticket_id: int) -> TicketResult:
        return TicketResult(ticket_id=ticket_id, status=self.tickets[ticket_id])

    @activity.defn(name=name_of(MediaActivities.upload_inbound_media))
    async def upload_inbound_media(self, request: MediaUploadInput) -> MediaUploadResult:
        self._record(request)
        media = [
            UploadedMedia(message_sid=i.message_sid, index=i.index, token=f"tok-{i.index}")
            for i in request.items
        ]
        return MediaUploadResult(media=media, uploaded_at=activity.info().started_time)

    @activity.defn(name=name_of(AgentMediaActivities.agent_attachments))
    async def agent_attachments(self, request: AgentMediaInput) -> AgentMediaResult:
        self._record(request)
        return AgentMediaResult()

    # --- where each runs, as `service.worker.build_workers` registers them ------------------

    def on_main_queue(self) -> list[Any]:
        return [
            self.triage_inbound,
            self.customer_context,
            self.send_sms,
            self.record_delivery,
            self.record_outbound,
            self.record_attribution,
            self.latest_ticket,
        ]

    def on_zendesk_queue(self) -> list[Any]:
        return [
            self.ensure_requester,
            self.open_ticket,
            self.add_customer_comment,
            self.add_internal_note,
            self.describe_agent,
            self.get_ticket_status,
            self.transition_ticket,
            self.upload_inbound_media,
            self.agent_attachments,
        ]

    def on_update_queue(self) -> list[Any]:
        return [self.add_customer_comment, self.add_internal_note, self.transition_ticket]

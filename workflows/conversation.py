"""SmsConversation: one long-lived workflow per (account number, customer phone).

Signals only queue events (after dropping redeliveries); the run loop handles them one at a
time, in arrival order, so a status change and the text after it are seen in that order. Texts
that queue up while an activity runs are handled together: a burst becomes one comment (B5).

The run completes when the conversation rests (no ticket, or its ticket closed, and nothing
queued): an idle conversation then costs nothing, and the customer's next text starts a fresh
run that recalls the last ticket from the database and Zendesk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.customers import (
        ClassifiedText,
        CustomerActivities,
        CustomerContext,
        CustomerInput,
        TriageInput,
    )
    from activities.sms import DeliveryInput, SendSmsInput, SmsActivities
    from activities.zendesk import (
        AgentInput,
        CustomerCommentInput,
        CustomerText,
        InternalNoteInput,
        OpenTicketInput,
        RecallInput,
        RequesterInput,
        TicketResult,
        ZendeskActivities,
    )
    from core.conversation import (
        FAILED_EVENTS_LIMIT,
        SEEN_IDS_LIMIT,
        ConversationInput,
        ConversationState,
        FailedEvent,
    )
    from core.markers import written_by_smsdesk
    from core.messages import (
        AgentComment,
        ConversationEvent,
        DeliveryStatus,
        InboundSms,
        TicketStatus,
        TicketStatusChanged,
    )
    from core.rules import Disposition, TicketAction, classify_keyword, ticket_action
    from workflows import search

ACTIVITY_TIMEOUT = timedelta(seconds=30)
#: Outages are waited out, however long they last: nothing is dropped after N attempts.
DURABLE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


class ConversationView(BaseModel):
    """What the `state` query answers."""

    conversation_id: str
    sender_number: str
    customer_phone: str
    state: ConversationState
    queued: int
    #: True while an event is being handled (its activities may still be running).
    busy: bool


class ConversationResult(BaseModel):
    last_ticket_id: int | None
    texts_received: int
    replies_sent: int


@workflow.defn
class SmsConversation:
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        self._request = request
        self._state = request.state.model_copy(deep=True)
        self._inbox: list[ConversationEvent] = list(self._state.pending)
        self._state.pending = []
        self._seen = set(self._state.seen_ids)
        self._busy = False

    # --- messages in ------------------------------------------------------------------------

    @workflow.signal
    def inbound_sms(self, text: InboundSms) -> None:
        self._accept(text)

    @workflow.signal
    def agent_comment(self, comment: AgentComment) -> None:
        self._accept(comment)

    @workflow.signal
    def ticket_status(self, change: TicketStatusChanged) -> None:
        self._accept(change)

    @workflow.signal
    def delivery_status(self, status: DeliveryStatus) -> None:
        self._accept(status)

    @workflow.query
    def state(self) -> ConversationView:
        return ConversationView(
            conversation_id=self._request.conversation_id,
            sender_number=self._request.sender_number,
            customer_phone=self._request.customer_phone,
            state=self._state,
            queued=len(self._inbox),
            busy=self._busy,
        )

    def _accept(self, event: ConversationEvent) -> None:
        key = event.dedupe_id
        if key in self._seen:
            return  # a redelivered webhook: already queued or handled
        self._seen.add(key)
        self._state.seen_ids.append(key)
        if len(self._state.seen_ids) > SEEN_IDS_LIMIT:
            self._seen.discard(self._state.seen_ids.pop(0))
        self._inbox.append(event)

    # --- the loop ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: ConversationInput) -> ConversationResult:
        search.upsert_identity(request)
        if not self._state.recalled:
            await self._recall()
        while True:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or workflow.info().is_continue_as_new_suggested()
            )
            if self._inbox:
                self._busy = True
                await self._handle_next()
                self._busy = False
            if not self._inbox and self._at_rest():
                return ConversationResult(
                    last_ticket_id=self._state.ticket_id or self._state.last_closed_ticket_id,
                    texts_received=self._state.texts_received,
                    replies_sent=self._state.replies_sent,
                )
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._state.pending = list(self._inbox)
                workflow.continue_as_new(self._request.model_copy(update={"state": self._state}))

    def _at_rest(self) -> bool:
        return self._state.ticket_id is None

    async def _handle_next(self) -> None:
        if isinstance(self._inbox[0], InboundSms):
            burst: list[InboundSms] = []
            while self._inbox and isinstance(self._inbox[0], InboundSms):
                burst.append(self._inbox.pop(0))  # type: ignore[arg-type]
            await self._guarded(self._handle_texts(burst), burst)
            return
        event = self._inbox.pop(0)
        if isinstance(event, AgentComment):
            await self._guarded(self._handle_agent_comment(event), [event])
        elif isinstance(event, TicketStatusChanged):
            self._handle_status(event)
        elif isinstance(event, DeliveryStatus):
            await self._guarded(self._handle_delivery(event), [event])

    async def _guarded(
        self, handling: Awaitable[None], events: Sequence[ConversationEvent]
    ) -> None:
        """Retryable failures never get here (they are retried until they pass); a request
        that can never succeed (bad credentials, a refused body) is kept in the state for the
        operator instead of failing the whole conversation."""
        try:
            await handling
        except ActivityError as exc:
            cause = exc.cause or exc
            workflow.logger.error("event failed for good: %s", cause)
            self._state.failed.extend(
                FailedEvent(event=event, error=str(cause)) for event in events
            )
            del self._state.failed[:-FAILED_EVENTS_LIMIT]

    async def _recall(self) -> None:
        recalled = await self._zendesk(
            ZendeskActivities.recall_latest_ticket,
            RecallInput(conversation_id=self._request.conversation_id),
        )
        self._state.recalled = True
        if recalled.ticket is not None:
            self._set_ticket(recalled.ticket)

    # --- customer texts (M4, M5, M7, M12, M14) ----------------------------------------------

    async def _handle_texts(self, burst: list[InboundSms]) -> None:
        policy = self._request.policy
        self._state.texts_received += len(burst)
        classified = [
            ClassifiedText(
                text=text,
                keyword=classify_keyword(
                    text.body,
                    subscribe_keywords=policy.subscribe_keywords,
                    automation_keywords=policy.automation_keywords,
                ),
            )
            for text in burst
        ]
        triage = await self._activity(
            CustomerActivities.triage_inbound,
            TriageInput(
                conversation_id=self._request.conversation_id,
                texts=classified,
                sms_sync_enabled_at=policy.sms_sync_enabled_at,
            ),
        )
        self._state.customer_email = triage.customer.email
        fates = triage.dispositions
        refused = [t for t in burst if fates[t.message_sid] is Disposition.NOT_CONSENTED]
        if refused:
            await self._auto_respond(refused[0])
        for_ticket = [t for t in burst if fates[t.message_sid] is Disposition.TICKET]
        if for_ticket:
            await self._write_customer_texts(for_ticket, triage.customer)

    async def _write_customer_texts(
        self, burst: list[InboundSms], customer: CustomerContext
    ) -> None:
        texts = [
            CustomerText(message_sid=t.message_sid, body=t.body, media_count=len(t.media_urls))
            for t in burst
        ]
        requester_id = await self._requester(customer)
        action = ticket_action(self._state.ticket_status if self._state.ticket_id else None)
        if self._state.ticket_id is not None and action is not TicketAction.FOLLOW_UP:
            commented = await self._zendesk(
                ZendeskActivities.add_customer_comment,
                CustomerCommentInput(
                    ticket_id=self._state.ticket_id,
                    requester_id=requester_id,
                    texts=texts,
                    reopen=action is TicketAction.REOPEN,
                ),
            )
            if commented.ticket is not None:
                self._set_ticket(commented.ticket)
                return
            # Zendesk says the ticket is closed, whatever we remembered: the real status wins.
            self._close_ticket()
        opened = await self._zendesk(
            ZendeskActivities.open_ticket,
            OpenTicketInput(
                conversation_id=self._request.conversation_id,
                sender_number=self._request.sender_number,
                customer_phone=self._request.customer_phone,
                requester_id=requester_id,
                texts=texts,
                follow_up_of=self._state.last_closed_ticket_id,
                brand_id=self._request.policy.sms_brand_id,
            ),
        )
        self._set_ticket(opened)

    async def _requester(self, customer: CustomerContext) -> int:
        if self._state.requester_id is None:
            requester = await self._zendesk(
                ZendeskActivities.ensure_requester,
                RequesterInput(
                    customer_phone=self._request.customer_phone,
                    name=customer.name,
                    email=customer.email,
                ),
            )
            self._state.requester_id = requester.user_id
        return self._state.requester_id

    async def _auto_respond(self, text: InboundSms) -> None:
        """M12: a sender without consent gets the auto-responder (at most once a day)."""
        policy, now = self._request.policy, workflow.now()
        last = self._state.auto_responder_sent_at
        if last is not None and now - last < policy.auto_responder_every:
            return
        await self._activity(
            SmsActivities.send_sms,
            SendSmsInput(
                idempotency_key=f"auto-responder:{text.message_sid}",
                conversation_id=self._request.conversation_id,
                from_number=self._request.sender_number,
                to_number=self._request.customer_phone,
                body=policy.auto_responder_text,
                kind="auto_responder",
            ),
        )
        self._state.auto_responder_sent_at = now

    # --- agent replies (M8, M9, M12, B8) ----------------------------------------------------

    async def _handle_agent_comment(self, comment: AgentComment) -> None:
        if not comment.is_public or not comment.author_is_staff:
            return  # internal notes and the customer's own comments are never texted
        if written_by_smsdesk(comment.body):
            return  # loop safety: our own writes never echo back as SMS
        agent = await self._zendesk(
            ZendeskActivities.describe_agent, AgentInput(user_id=comment.author_id)
        )
        customer = await self._activity(
            CustomerActivities.customer_context,
            CustomerInput(customer_phone=self._request.customer_phone),
        )
        if agent.email and customer.email and agent.email.lower() == customer.email.lower():
            await self._note_unsent(
                comment,
                "the replying agent's email is the customer's own email (an agent testing "
                "as a customer, or a shared address)",
                "same-email",
            )
            return
        if not customer.consented:
            await self._note_unsent(
                comment,
                "the customer has no SMS consent (opted out or never subscribed)",
                "no-consent",
            )
            return
        sent = await self._activity(
            SmsActivities.send_sms,
            SendSmsInput(
                idempotency_key=f"reply:{comment.comment_id}",
                conversation_id=self._request.conversation_id,
                from_number=self._request.sender_number,
                to_number=self._request.customer_phone,
                body=comment.body,
                kind="agent_reply",
                ticket_id=comment.ticket_id,
                agent_id=comment.author_id,
            ),
        )
        if sent.sent:
            self._state.replies_sent += 1
        else:
            await self._note_unsent(
                comment, sent.reason or "the SMS provider refused it", "refused"
            )

    async def _note_unsent(self, comment: AgentComment, why: str, code: str) -> None:
        await self._zendesk(
            ZendeskActivities.add_internal_note,
            InternalNoteInput(
                ticket_id=comment.ticket_id,
                body=f"This reply was not sent to the customer by SMS: {why}.",
                key=f"unsent-{code}-{comment.comment_id}",
            ),
        )

    # --- ticket status and delivery reports (M7, B2) ----------------------------------------

    def _handle_status(self, change: TicketStatusChanged) -> None:
        if change.ticket_id != self._state.ticket_id:
            return  # an older ticket of this conversation: nothing to track
        if change.status is TicketStatus.CLOSED:
            self._close_ticket()
        else:
            self._state.ticket_status = change.status
            search.upsert_ticket(self._state)

    async def _handle_delivery(self, report: DeliveryStatus) -> None:
        recorded = await self._activity(
            SmsActivities.record_delivery,
            DeliveryInput(
                provider_sid=report.message_sid,
                status=report.status,
                error_code=report.error_code,
            ),
        )
        if report.status in ("failed", "undelivered") and recorded.ticket_id is not None:
            code = f" (error {report.error_code})" if report.error_code else ""
            await self._zendesk(
                ZendeskActivities.add_internal_note,
                InternalNoteInput(
                    ticket_id=recorded.ticket_id,
                    body=f"This SMS could not be delivered to the customer{code}:\n{recorded.body}",
                    key=f"undelivered-{report.message_sid}",
                ),
            )

    # --- state helpers ----------------------------------------------------------------------

    def _set_ticket(self, ticket: TicketResult) -> None:
        if ticket.status is TicketStatus.CLOSED:
            self._state.ticket_id = ticket.ticket_id
            self._close_ticket()
            return
        self._state.ticket_id, self._state.ticket_status = ticket.ticket_id, ticket.status
        search.upsert_ticket(self._state)

    def _close_ticket(self) -> None:
        self._state.last_closed_ticket_id = self._state.ticket_id
        self._state.ticket_id, self._state.ticket_status = None, None
        search.upsert_ticket(self._state)

    async def _activity(self, method, arg):  # type: ignore[no-untyped-def]
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DURABLE_RETRY
        )

    async def _zendesk(self, method, arg):  # type: ignore[no-untyped-def]
        return await workflow.execute_activity_method(
            method,
            arg,
            task_queue=self._request.policy.zendesk_task_queue,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DURABLE_RETRY,
        )

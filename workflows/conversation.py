"""SmsConversation: one long-lived workflow per (account number, customer phone).

Signals only queue events (after dropping redeliveries); the run loop handles them one at a
time, in arrival order, so a status change and the text after it are seen in that order. Texts
that queue up while an activity runs are handled together: a burst becomes one comment (B5).
Between events the loop sleeps until the next deadline: auto-close (M16), inactivity (M21) or
the end of the attribution window (M18).

The run completes when the conversation rests (no ticket or only a closed one, no open
attribution window, nothing queued): an idle conversation then costs nothing, and the
customer's next text starts a fresh run that recalls the last ticket from the database and
Zendesk. A long conversation continues as new when the server suggests it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.records import LatestTicketInput, RecordActivities
    from activities.zendesk import RecallInput, TicketLookupInput, ZendeskActivities
    from core.conversation import (
        FAILED_EVENTS_LIMIT,
        SEEN_IDS_LIMIT,
        STATE_QUERY,
        WORKFLOW_NAME,
        ConversationInput,
        ConversationResult,
        ConversationView,
        FailedEvent,
    )
    from core.messages import (
        AgentComment,
        ConversationEvent,
        DeliveryStatus,
        InboundSms,
        OutboundSms,
        TicketStatusChanged,
    )
    from workflows import search
    from workflows.agent_replies import AgentReplies
    from workflows.calls import Calls
    from workflows.customer_texts import CustomerTexts
    from workflows.tickets import TicketKeeper
    from workflows.versions import LOCAL_READS, RECALL_ONLY_A_KNOWN_TICKET, adopted


#: A burst becomes one comment; these bound it (10,000 texts still fit in 25 updates).
BURST_MAX_TEXTS = 500
BURST_MAX_CHARS = 60_000


@workflow.defn(name=WORKFLOW_NAME)
class SmsConversation:
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        self._request = request
        self._state = request.state.model_copy(deep=True)
        self._inbox: list[ConversationEvent] = list(self._state.pending)
        self._state.pending = []
        self._seen = set(self._state.seen_ids)
        self._busy = False
        self._handled = 0
        calls = Calls(request.policy.zendesk_task_queue)
        self._tickets = TicketKeeper(request, self._state, calls)
        self._texts = CustomerTexts(request, self._state, calls, self._tickets)
        self._replies = AgentReplies(request, self._state, calls, self._tickets)
        self._calls = calls

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

    @workflow.signal
    def outbound_sms(self, text: OutboundSms) -> None:
        self._accept(text)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> ConversationView:
        return ConversationView(
            conversation_id=self._request.conversation_id,
            sender_number=self._request.sender_number,
            customer_phone=self._request.customer_phone,
            state=self._state,
            queued=len(self._inbox),
            busy=self._busy,
            next_deadline=self._next_deadline(),
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
            if self._inbox:
                self._busy = True
                await self._handle_next()
                self._busy = False
            elif self._at_rest():
                return ConversationResult(
                    last_ticket_id=self._state.ticket_id or self._state.last_closed_ticket_id,
                    texts_received=self._state.texts_received,
                    replies_sent=self._state.replies_sent,
                )
            else:
                await self._sleep_until_event_or_deadline()
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._state.pending = list(self._inbox)
                # The next run keeps this run's generation: during a rolling deploy it may be
                # picked up by a worker of the previous release (workflows/versions.py).
                workflow.continue_as_new(self._request.model_copy(update={"state": self._state}))

    async def _sleep_until_event_or_deadline(self) -> None:
        deadline = self._next_deadline()
        timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox) or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
            )
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError since Python 3.11
            self._busy = True
            await self._guarded(self._on_deadline(), [])
            self._busy = False

    def _next_deadline(self) -> datetime | None:
        candidates = [self._tickets.next_deadline(), self._attribution_ends()]
        return min((d for d in candidates if d is not None), default=None)

    def _attribution_ends(self) -> datetime | None:
        window = self._state.attribution
        if window is None or window.attributed_to_sid is not None:
            return None
        return window.opened_at + self._request.policy.attribution_window

    async def _on_deadline(self) -> None:
        ends = self._attribution_ends()
        if ends is not None and ends <= workflow.now():
            self._state.attribution = None  # the window closed with no text to attribute
        deadline = self._tickets.next_deadline()
        if deadline is not None and deadline <= workflow.now():
            await self._tickets.on_deadline()

    def _at_rest(self) -> bool:
        return self._state.ticket_id is None and self._next_deadline() is None

    def _should_continue_as_new(self) -> bool:
        limit = self._request.policy.continue_as_new_after
        return workflow.info().is_continue_as_new_suggested() or (
            limit is not None and self._handled >= limit
        )

    async def _handle_next(self) -> None:
        self._handled += 1
        if isinstance(self._inbox[0], InboundSms):
            # Wait for the ticket's update budget first: whatever arrives meanwhile joins the
            # burst and goes into the same comment.
            await self._tickets.wait_for_update_slot()
            burst: list[InboundSms] = []
            size = 0
            # Bounded: one comment (and one activity payload) stays far below Zendesk's and
            # Temporal's size limits however hard a customer floods the number.
            while (
                self._inbox
                and isinstance(self._inbox[0], InboundSms)
                and len(burst) < BURST_MAX_TEXTS
                and size < BURST_MAX_CHARS
            ):
                text = self._inbox.pop(0)
                assert isinstance(text, InboundSms)
                size += len(text.body)
                burst.append(text)
            await self._guarded(self._texts.handle_burst(burst), burst)
            return
        event = self._inbox.pop(0)
        if isinstance(event, AgentComment):
            await self._guarded(self._replies.handle_comment(event), [event])
        elif isinstance(event, TicketStatusChanged):
            self._tickets.on_status(event)
        elif isinstance(event, DeliveryStatus):
            await self._guarded(self._replies.handle_delivery(event), [event])
        elif isinstance(event, OutboundSms):
            await self._guarded(self._texts.handle_outbound(event), [event])

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
            self._state.failed.extend(FailedEvent(event=e, error=str(cause)) for e in events)
            del self._state.failed[:-FAILED_EVENTS_LIMIT]

    async def _recall(self) -> None:
        """Learn the conversation's last ticket and its real status (a text after a closed
        ticket opens a follow-up, M7). A conversation that never had a ticket (a new customer,
        or one who only got the auto-responder) learns that from the database alone: no
        activity on the Zendesk queue, whose rate limit is the account's budget (B5)."""
        if not adopted(self._request.generation, RECALL_ONLY_A_KNOWN_TICKET):
            # Runs started before the patch: one Zendesk activity reads the database and then
            # the ticket.
            recalled = await self._calls.zendesk(
                ZendeskActivities.recall_latest_ticket,
                RecallInput(conversation_id=self._request.conversation_id),
            )
            self._state.recalled = True
            if recalled.ticket is not None:
                self._tickets.set_ticket(recalled.ticket)
            return
        known = await self._calls.read(
            RecordActivities.latest_ticket,
            LatestTicketInput(conversation_id=self._request.conversation_id),
            local=adopted(self._request.generation, LOCAL_READS),
        )
        if known.ticket_id is not None:
            ticket = await self._calls.zendesk(
                ZendeskActivities.get_ticket_status, TicketLookupInput(ticket_id=known.ticket_id)
            )
            self._tickets.set_ticket(ticket)
        self._state.recalled = True

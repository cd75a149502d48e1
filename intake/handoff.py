"""What is handed to Temporal, journaled or not: one event for one workflow, and the call that
delivers it. The door and the forwarder make the very same call, so a journaled event lands
exactly as it would have without the detour."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import TypeAdapter
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core import conversation, ticket_metrics
from core.conversation import ConversationInput
from core.messages import ConversationEvent
from core.settings import Settings
from core.tables import IntakeEvent
from core.ticket_metrics import TicketMetricsInput
from intake.journal import NewEvent

Action = Literal["signal_with_start", "signal", "start"]
_EVENT = TypeAdapter[ConversationEvent](ConversationEvent)


@dataclass(frozen=True)
class Handoff:
    """One event for one workflow.

    - `signal_with_start`: a conversation event; the conversation starts if it is not running.
    - `signal`: an event for a conversation known to be running (by workflow id alone).
    - `start`: a TicketMetrics workflow; a second start of the same id is a no-op.
    """

    action: Action
    workflow_id: str
    payload: ConversationEvent | TicketMetricsInput
    sender_number: str | None = None
    customer_phone: str | None = None

    @classmethod
    def conversation_event(
        cls,
        event: ConversationEvent,
        *,
        sender_number: str,
        customer_phone: str,
        settings: Settings,
    ) -> Handoff:
        workflow_id = conversation.conversation_id(sender_number, customer_phone, settings)
        return cls(
            "signal_with_start",
            workflow_id,
            event,
            sender_number=sender_number,
            customer_phone=customer_phone,
        )

    @classmethod
    def running_conversation_event(cls, event: ConversationEvent, *, workflow_id: str) -> Handoff:
        return cls("signal", workflow_id, event)

    @classmethod
    def ticket_metrics(cls, request: TicketMetricsInput) -> Handoff:
        return cls("start", request.workflow_id, request)

    @property
    def kind(self) -> str:
        """What the event is, for counting: the conversation signal, or `ticket_metrics`."""
        if isinstance(self.payload, TicketMetricsInput):
            return "ticket_metrics"
        return self.payload.kind

    @property
    def dedupe_key(self) -> str:
        if isinstance(self.payload, TicketMetricsInput):
            return self.workflow_id
        return f"{self.workflow_id}|{self.payload.dedupe_id}"

    def journal_row(self) -> NewEvent:
        return NewEvent(
            workflow_id=self.workflow_id,
            action=self.action,
            dedupe_key=self.dedupe_key,
            sender_number=self.sender_number,
            customer_phone=self.customer_phone,
            payload=self.payload.model_dump_json(),
        )

    @classmethod
    def from_journal(cls, row: IntakeEvent) -> Handoff:
        action: Action = row.action  # type: ignore[assignment]
        payload: ConversationEvent | TicketMetricsInput
        if action == "start":
            payload = TicketMetricsInput.model_validate_json(row.payload)
        else:
            payload = _EVENT.validate_python(json.loads(row.payload))
        return cls(action, row.workflow_id, payload, row.sender_number, row.customer_phone)

    async def deliver(self, temporal: Client, settings: Settings, *, timeout: timedelta) -> bool:
        """Hand the event to Temporal; returns once Temporal has it: False when it had it
        already (a TicketMetrics workflow with this id exists), True otherwise.

        Raises:
            temporalio.service.RPCError: Temporal refused or did not answer within `timeout`.
        """
        if isinstance(self.payload, TicketMetricsInput):
            return await _start_ticket_metrics(temporal, settings, self.payload, timeout)
        signal = self.payload.kind  # each event's kind is its signal's name
        if self.action == "signal":
            handle = temporal.get_workflow_handle(self.workflow_id)
            await handle.signal(signal, self.payload, rpc_timeout=timeout)
            return True
        assert self.sender_number is not None and self.customer_phone is not None
        start = ConversationInput.for_numbers(self.sender_number, self.customer_phone, settings)
        await temporal.start_workflow(
            conversation.WORKFLOW_NAME,
            start,
            id=self.workflow_id,
            task_queue=settings.temporal_task_queue,
            start_signal=signal,
            start_signal_args=[self.payload],
            search_attributes=start.identity_search_attributes,
            rpc_timeout=timeout,
        )
        return True


async def _start_ticket_metrics(
    temporal: Client, settings: Settings, request: TicketMetricsInput, timeout: timedelta
) -> bool:
    """Rejecting a duplicate id even after the first run finished is what makes a redelivered
    event harmless; Klaviyo's `unique_id` covers a replay after the run left retention."""
    try:
        await temporal.start_workflow(
            ticket_metrics.WORKFLOW_NAME,
            request,
            id=request.workflow_id,
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            rpc_timeout=timeout,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True

"""`SmsConversation` on a Temporal server with the fake activities (`fake_activities`): three
workers on the queues production uses, and events handed in as the intake door hands them
(signal-with-start, so a conversation that came to rest starts a fresh run)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Worker

from activities.sms import SendSmsInput, SmsActivities
from activities.zendesk import (
    CustomerCommentInput,
    InternalNoteInput,
    OpenTicketInput,
    ZendeskActivities,
)
from core.conversation import (
    WORKFLOW_GENERATION,
    ConversationInput,
    ConversationPolicy,
    ConversationResult,
    ConversationView,
)
from core.messages import (
    AgentComment,
    ConversationEvent,
    DeliveryStatus,
    InboundSms,
    OutboundSms,
    TicketStatus,
    TicketStatusChanged,
)
from core.queues import zendesk_update_queue
from tests.helpers.fake_activities import FakeActivities
from tests.helpers.stack import eventually
from workflows.conversation import SmsConversation

SENDER = "+15550100001"
CUSTOMER = "+15551230001"
AGENT_ID = 77
AUTO_RESPONDER = "Reply START to get texts from us."


@dataclass
class ConversationRig:
    client: Client
    fakes: FakeActivities
    request: ConversationInput
    task_queue: str
    _serial: int = 0

    @property
    def handle(self) -> WorkflowHandle[SmsConversation, ConversationResult]:
        """The conversation's latest run. Awaiting its result does not unlock time skipping
        (a handle from `start_workflow` would, and the idle test server then jumps years)."""
        return self.client.get_workflow_handle_for(
            SmsConversation.run, self.request.conversation_id
        )

    async def send(self, event: ConversationEvent) -> None:
        await self.client.start_workflow(
            SmsConversation.run,
            self.request,
            id=self.request.conversation_id,
            task_queue=self.task_queue,
            start_signal=event.kind,
            start_signal_args=[event],
        )

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    async def text(self, body: str, *, sid: str | None = None, media: int = 0) -> InboundSms:
        text = InboundSms(
            message_sid=sid or f"SM{self._next():04d}",
            customer_phone=CUSTOMER,
            sender_number=SENDER,
            body=body,
            media_urls=[f"https://media.example/{i}" for i in range(media)],
            media_types=["image/jpeg"] * media,
            received_at=datetime.now(UTC),
        )
        await self.send(text)
        return text

    async def status(self, ticket_id: int, status: TicketStatus) -> None:
        """Zendesk's status webhook; the fake Zendesk takes the status too."""
        self.fakes.tickets[ticket_id] = status
        await self.send(
            TicketStatusChanged(
                event_id=f"ev-{self._next()}",
                ticket_id=ticket_id,
                status=status,
                changed_at=datetime.now(UTC),
            )
        )

    async def agent_reply(
        self, ticket_id: int, body: str, *, comment_id: int | None = None, **fields: Any
    ) -> AgentComment:
        serial = self._next()
        comment = AgentComment(
            event_id=f"ev-{serial}",
            ticket_id=ticket_id,
            comment_id=comment_id or 9000 + serial,
            body=body,
            is_public=fields.pop("is_public", True),
            author_id=fields.pop("author_id", AGENT_ID),
            author_is_staff=fields.pop("author_is_staff", True),
            created_at=datetime.now(UTC),
        )
        await self.send(comment)
        return comment

    async def delivery(self, provider_sid: str, status: str, error_code: int | None = None) -> None:
        await self.send(
            DeliveryStatus(message_sid=provider_sid, status=status, error_code=error_code)
        )

    async def outbound(
        self, body: str, *, origin: Literal["campaign", "flow", "other"] = "campaign", **fields: Any
    ) -> None:
        await self.send(
            OutboundSms(
                message_id=f"out-{self._next()}",
                origin=origin,
                sender_number=SENDER,
                customer_phone=CUSTOMER,
                body=body,
                sent_at=fields.pop("sent_at", datetime.now(UTC)),
                **fields,
            )
        )

    async def view(self) -> ConversationView:
        """What the `state` query answers now."""
        return await self.handle.query(SmsConversation.state)

    async def settled(self) -> ConversationView:
        """The state once every event handed in so far has been handled."""

        async def idle() -> ConversationView | None:
            view = await self.view()
            return view if view.queued == 0 and not view.busy else None

        return await eventually(idle, timeout=15)

    async def rested(self) -> ConversationResult:
        """The result of the latest run once it has completed, with the clock left alone:
        tests move time themselves (`WorkflowEnvironment.sleep`)."""

        async def completed() -> bool:
            return (await self.handle.describe()).status is not WorkflowExecutionStatus.RUNNING

        await eventually(completed, timeout=15)
        return await self.handle.result()


# --- what the fakes were asked, by the activity -----------------------------------------------


def opened(rig: ConversationRig) -> list[OpenTicketInput]:
    return rig.fakes.args(ZendeskActivities.open_ticket, OpenTicketInput)


def comments(rig: ConversationRig) -> list[CustomerCommentInput]:
    return rig.fakes.args(ZendeskActivities.add_customer_comment, CustomerCommentInput)


def notes(rig: ConversationRig) -> list[InternalNoteInput]:
    return rig.fakes.args(ZendeskActivities.add_internal_note, InternalNoteInput)


def texts_sent(rig: ConversationRig) -> list[SendSmsInput]:
    return rig.fakes.args(SmsActivities.send_sms, SendSmsInput)


def policy(zendesk_task_queue: str, **changes: Any) -> ConversationPolicy:
    return ConversationPolicy(
        zendesk_task_queue=zendesk_task_queue,
        sms_brand_id=360,
        subscribe_keywords=["JOIN"],
        automation_keywords=["ORDER"],
        auto_responder_text=AUTO_RESPONDER,
        **changes,
    )


@contextlib.asynccontextmanager
async def conversation_rig(
    client: Client, fakes: FakeActivities | None = None, **policy_changes: Any
) -> AsyncIterator[ConversationRig]:
    """Workers for one fresh set of task queues, serving `SmsConversation` and the fakes."""
    fakes = fakes or FakeActivities()
    queue = f"conversation-{uuid.uuid4().hex[:8]}"
    zendesk_queue = f"{queue}-zendesk"
    request = ConversationInput(
        conversation_id=f"sms-conversation-{uuid.uuid4().hex[:12]}",
        sender_number=SENDER,
        customer_phone=CUSTOMER,
        sender_search_value=SENDER,
        customer_search_value=CUSTOMER,
        policy=policy(zendesk_queue, **policy_changes),
        generation=WORKFLOW_GENERATION,
    )
    workers = [
        Worker(
            client,
            task_queue=queue,
            workflows=[SmsConversation],
            activities=fakes.on_main_queue(),
        ),
        Worker(client, task_queue=zendesk_queue, activities=fakes.on_zendesk_queue()),
        Worker(
            client,
            task_queue=zendesk_update_queue(zendesk_queue),
            activities=fakes.on_update_queue(),
        ),
    ]
    async with contextlib.AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield ConversationRig(client, fakes, request, queue)


HOUR = timedelta(hours=1)

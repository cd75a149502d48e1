"""The door (B9) with a Temporal that is slow but up: the webhook does not wait it out.

The event is journaled after `INTAKE_WAIT_SECONDS` so the webhook can answer; the delivery goes
on, lands, and takes the journaled copy with it, so the forwarder has nothing to send twice;
for a second after that, texts are journaled without waiting.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment

from core.messages import InboundSms
from core.settings import Settings
from intake import journal
from intake.door import Door
from intake.handoff import Handoff

SENDER = "+15550100001"
#: How long the slow Temporal takes to answer a start, against the door's 0.05 s wait.
ANSWER_SECONDS = 0.5


class _SlowStarts(Interceptor):
    """Temporal taking ANSWER_SECONDS to answer each start; the ids it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _SlowOutbound(next, self.asked)


class _SlowOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, asked: list[str]) -> None:
        super().__init__(next)
        self.asked = asked

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self.asked.append(input.id)
        await asyncio.sleep(ANSWER_SECONDS)
        return await super().start_workflow(input)


def _text(settings: Settings) -> Handoff:
    customer = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    text = InboundSms(
        message_sid="SM" + uuid.uuid4().hex,
        customer_phone=customer,
        sender_number=SENDER,
        body="hello",
        received_at=datetime.now(UTC),
    )
    return Handoff.conversation_event(
        text, sender_number=SENDER, customer_phone=customer, settings=settings
    )


async def test_a_slow_temporal_gets_the_text_and_the_journaled_copy_goes(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    slow = _SlowStarts()
    config = temporal_env.client.config()
    config["interceptors"] = [slow]
    client = Client(**config)
    queue = f"slow-{uuid.uuid4().hex[:8]}"  # no worker polls it: the workflow just waits
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=client.service_client.config.target_host,
        temporal_task_queue=queue,
        zendesk_task_queue=f"{queue}-zendesk",
        sms_numbers=SENDER,
        intake_wait_seconds=0.05,
        intake_signal_timeout_seconds=5,
    )
    first, second = _text(settings), _text(settings)
    door = Door(client, engine, settings)

    first_outcome = await door.hand_over(first)
    copy_was_kept = journal.journaled_dedupe_keys(engine, keys=[first.dedupe_key])
    # Temporal has just been slow: the next text is journaled without a wait or a try.
    second_outcome = await door.hand_over(second)
    started = time.monotonic()
    while journal.journaled_dedupe_keys(engine, keys=[first.dedupe_key]):
        assert time.monotonic() - started < 10, "the delivery never landed"
        await asyncio.sleep(0.05)

    assert (first_outcome, second_outcome) == ("journaled", "journaled")
    assert copy_was_kept == {first.dedupe_key}  # durable before the answer
    assert slow.asked == [first.workflow_id]
    description = await temporal_env.client.get_workflow_handle(first.workflow_id).describe()
    assert description.status is WorkflowExecutionStatus.RUNNING  # Temporal has the first
    assert journal.journaled_dedupe_keys(engine, keys=[second.dedupe_key])  # for the forwarder
    assert not door.temporal_suspect()  # slow is not down
    await temporal_env.client.get_workflow_handle(first.workflow_id).terminate("test over")

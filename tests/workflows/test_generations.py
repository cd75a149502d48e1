"""Runs started by today's code decide no change by patch marker; runs from before still do.

A conversation queried while it works must still replay (the worker replays a run after an
eviction or a restart, and to answer a query for a run it no longer caches). Why it failed: a state query that reaches a run while a local activity is in flight makes
Temporal's core SDK (temporalio 1.34 and 1.35 alike) complete the workflow task with the local
activity's marker alone and deliver its result in the next task. On replay the result comes in
the earlier task. Commands still match, but `workflow.patched` decides from the markers of the
task it runs in: called right after a local activity it answers False on replay where the live
run recorded its marker, and the history no longer replays ("Non-deprecated patch marker
encountered for change agent-media-1"). Runs started by today's code therefore ask no patch
(`workflows/versions.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.conversation import (
    STATE_QUERY,
    WORKFLOW_GENERATION,
    WORKFLOW_NAME,
    ConversationInput,
    ConversationView,
)
from core.messages import InboundSms
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket
from workflows.conversation import SmsConversation
from workflows.reconcile import Reconcile
from workflows.ticket_metrics import TicketMetrics
from workflows.versions import GENERATION_OF, LOCAL_READS, RECALL_ONLY_A_KNOWN_TICKET

CUSTOMERS = 4
REPLIES = 2
PICTURE = [("map.png", "image/png", b"\x89PNG a map")]


@contextlib.asynccontextmanager
async def queried(handle: WorkflowHandle[object, object]) -> AsyncIterator[None]:
    """Ask the run's state over and over, as `starter.py replay` and operators' tools do."""

    async def ask() -> None:
        while True:
            await handle.query(STATE_QUERY, result_type=ConversationView)
            await asyncio.sleep(0.005)

    asking = asyncio.create_task(ask())
    try:
        yield
    finally:
        asking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asking


async def a_queried_conversation(stack: Stack) -> WorkflowHistory:
    """A text, then agent replies with a picture (a local read, then the attachments) and a
    last text, all while the run's state is being asked."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    handle = stack.conversation(customer)
    async with queried(handle):
        for number in range(1, REPLIES + 1):
            await stack.settled(customer)
            await stack.agent_reply(ticket["id"], f"Reply {number}", files=PICTURE)
            await eventually(functools.partial(texted_at_least, stack, customer, number))
        await stack.settled(customer)
        await stack.text(customer, "Thanks!")
        await stack.settled(customer)
    return await handle.fetch_history()


async def texted_at_least(stack: Stack, customer: str, count: int) -> bool:
    return len(await stack.texts_to(customer)) >= count


async def test_conversations_queried_while_they_work_replay(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_stack(temporal_env.client, engine) as stack:
        histories = await asyncio.gather(*(a_queried_conversation(stack) for _ in range(CUSTOMERS)))
    replayer = Replayer(
        workflows=[SmsConversation, TicketMetrics, Reconcile],
        data_converter=pydantic_data_converter,
    )
    failures = []
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(f"{history.workflow_id}: {result.replay_failure}")
    assert failures == []
    # Each went through the recall, the local reads, the search attributes and a reply's
    # pictures: changes that runs of generation 0 decide by marker, these from their start.
    assert [patch_markers(history) for history in histories] == [[]] * CUSTOMERS


async def test_a_conversation_from_before_generations_keeps_deciding_by_marker(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    """Its runs, the continued one too, ask their patches as before: a run of it may be picked
    up by a worker of the previous release during a rolling deploy."""
    async with running_stack(temporal_env.client, engine, continue_as_new_after_events=2) as stack:
        customer = await stack.new_customer()
        first_run = await start_a_generation_0_run(stack, customer)
        await stack.text(customer, "Order 1234")
        await stack.settled(customer)
        await stack.text(customer, "Any news?")
        state = await stack.settled(customer)
        assert state["state"]["texts_received"] == 3
        handle = stack.conversation(customer)
        old = await stack.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
        new = await handle.fetch_history()
    assert old.run_id != new.run_id
    assert started_with(old).generation == started_with(new).generation == 0
    assert {LOCAL_READS, RECALL_ONLY_A_KNOWN_TICKET} <= set(patch_markers(old))
    assert LOCAL_READS in patch_markers(new)


def test_every_change_belongs_to_a_generation_no_later_than_todays() -> None:
    assert max(GENERATION_OF.values()) == WORKFLOW_GENERATION


async def start_a_generation_0_run(stack: Stack, customer: str) -> str:
    """Starts the conversation as the intake did before generations: no `generation` field."""
    start = ConversationInput.for_numbers(ACCOUNT_NUMBER, customer, stack.settings)
    before = start.model_dump(mode="json", exclude={"generation"})
    text = InboundSms(
        message_sid="SMgeneration0",
        customer_phone=customer,
        sender_number=ACCOUNT_NUMBER,
        body="Where is my order?",
        received_at=datetime.now(UTC),
    )
    handle = await stack.client.start_workflow(
        WORKFLOW_NAME,
        before,
        id=start.conversation_id,
        task_queue=stack.settings.temporal_task_queue,
        start_signal=text.kind,
        start_signal_args=[text],
        search_attributes=start.identity_search_attributes,
    )
    await stack.settled(customer)
    assert handle.result_run_id is not None
    return handle.result_run_id


def started_with(history: WorkflowHistory) -> ConversationInput:
    started = history.events[0].workflow_execution_started_event_attributes
    [request] = pydantic_data_converter.payload_converter.from_payloads(
        list(started.input.payloads), [ConversationInput]
    )
    assert isinstance(request, ConversationInput)
    return request


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The ids of the patch markers the run recorded."""
    found = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if (
            event.HasField("marker_recorded_event_attributes")
            and marker.marker_name == "core_patch"
        ):
            [patch] = pydantic_data_converter.payload_converter.from_payloads(
                list(marker.details["patch-data"].payloads), [dict]
            )
            found.append(patch["id"])
    return found

"""B12 end to end: an agent reply over the SMS provider's 1,600-character limit reaches the
customer whole, as several texts in order, each sent once even when a worker dies mid-way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from core.conversation import conversation_id
from core.segments import count_segments
from core.tables import Direction, MessageLog, SendStatus
from infra import db
from tests.helpers.replies import (
    LONG_REPLY,
    MESSAGES,
    agent_comment_id,
    assert_whole_reply_once_in_order,
    in_flight,
    texts_at_least,
)
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket, internal_notes, ticket_now


def reply_rows(stack: Stack, customer: str) -> list[MessageLog]:
    conversation = conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    return [
        row
        for row in db.messages_for(stack.engine, conversation_id=conversation)
        if row.direction is Direction.OUTBOUND and row.kind == "agent_reply"
    ]


async def test_a_long_reply_reaches_the_customer_as_three_texts_in_order(stack: Stack) -> None:
    assert 3400 < len(LONG_REPLY) < 3600
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], LONG_REPLY)

    await texts_at_least(stack, customer, 3)
    state = await stack.settled(customer)
    texts = await stack.texts_to(customer)
    assert_whole_reply_once_in_order(texts)
    assert {t["from"] for t in texts} == {ACCOUNT_NUMBER}
    assert state["state"]["replies_sent"] == 1  # one reply, however many texts

    # Each part is logged with its own segments; the first keeps the reply's key.
    comment_id = await agent_comment_id(stack, ticket["id"], LONG_REPLY)
    rows = reply_rows(stack, customer)
    assert [row.idempotency_key for row in rows] == [
        f"reply:{comment_id}",
        f"reply:{comment_id}:2",
        f"reply:{comment_id}:3",
    ]
    assert [row.body for row in rows] == [t["body"] for t in texts]
    assert [row.provider_sid for row in rows] == [t["sid"] for t in texts]
    assert [(row.encoding, row.segments) for row in rows] == [
        (count.encoding, count.segments) for count in map(count_segments, (r.body for r in rows))
    ]
    assert all(row.segments > 1 for row in rows)
    assert not [n for n in internal_notes(await ticket_now(stack, ticket["id"])) if "not sent" in n]


async def test_a_worker_killed_after_part_two_sends_each_part_once_in_order(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    # Every call to the provider's Messages API takes a second, so the worker can be killed
    # while part 3 is on its way: journaled as sending, its outcome unknown to the retry.
    await stack.arm_fault("twilio", delay_ms=1000, probability=1.0, path_contains=MESSAGES)
    await stack.agent_reply(ticket["id"], LONG_REPLY)

    comment_id = await agent_comment_id(stack, ticket["id"], LONG_REPLY)
    await in_flight(stack, f"reply:{comment_id}:3")  # part 2 sent and recorded, part 3 going
    await stack.stop_worker()
    assert len(await stack.texts_to(customer)) == 2
    await stack.http.delete(stack.url("twilio", "/_sandbox/faults"))
    await stack.start_worker()

    await texts_at_least(stack, customer, 3)
    state = await stack.settled(customer)
    texts = await stack.texts_to(customer)
    assert_whole_reply_once_in_order(texts)
    assert state["state"]["replies_sent"] == 1
    rows = reply_rows(stack, customer)
    assert [row.provider_sid for row in rows] == [t["sid"] for t in texts]


async def test_a_part_refused_for_good_stops_the_rest_and_the_note_says_which(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.arm_fault("twilio", delay_ms=1000, probability=1.0, path_contains=MESSAGES)
    await stack.agent_reply(ticket["id"], LONG_REPLY)

    comment_id = await agent_comment_id(stack, ticket["id"], LONG_REPLY)
    await in_flight(stack, f"reply:{comment_id}:2")
    # The customer opts out at the carrier while part 2 is on its way (error 21610).
    await stack.http.post(stack.url("twilio", "/_sandbox/opt_out"), json={"phone": customer})
    await stack.http.delete(stack.url("twilio", "/_sandbox/faults"))

    async def noted() -> list[str] | None:
        await stack.settled(customer)
        notes = internal_notes(await ticket_now(stack, ticket["id"]))
        return [n for n in notes if "reply was only partly sent" in n] or None

    [note] = await eventually(noted)
    assert "part 1 of 3 went out, part 2 and the rest were not sent" in note
    assert "opted out" in note
    [text] = await stack.texts_to(customer)
    assert LONG_REPLY.startswith(text["body"])
    rows = reply_rows(stack, customer)
    assert [row.status for row in rows] == [SendStatus.DELIVERED, SendStatus.FAILED]
    assert rows[1].error_code == 21610
    state = await stack.settled(customer)
    assert state["state"]["replies_sent"] == 1  # the customer got part of it


@pytest.fixture
async def reconciling(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, engine, reconcile_settle_seconds=0) as running:
        await running.configure("zendesk", incremental_lag_seconds=0)
        yield running


async def test_the_reconciler_knows_a_reply_texted_in_parts(reconciling: Stack) -> None:
    stack = reconciling
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], LONG_REPLY)
    await texts_at_least(stack, customer, 3)
    await stack.settled(customer)

    report = await stack.reconcile()
    assert report.zendesk.agent_comments == []
    await stack.settled(customer)
    assert len(await stack.texts_to(customer)) == 3

"""Determinism guard: committed histories must replay against today's workflow code.

A change that alters the commands a workflow issues for the same history (a new activity
call, a reordered timer) would break every running conversation on deploy; it fails here first.
When a change is meant to alter the workflow, give it to a new generation (workflows/versions.py),
then record new histories beside the old ones with `SMSDESK_RECORD_HISTORY=1` and keep them all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.conversation import TICKET_UPDATE_BURST, TICKET_UPDATE_PACE
from tests.helpers.stack import Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket
from workflows.conversation import SmsConversation
from workflows.ticket_metrics import TicketMetrics

HISTORIES = Path(__file__).parent / "histories"
RECORDED = HISTORIES / "conversation_reply_solve_autoclose.json"


def histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", histories(), ids=lambda p: p.stem)
async def test_committed_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    replayer = Replayer(
        workflows=[SmsConversation, TicketMetrics], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)


def test_a_history_is_committed() -> None:
    assert RECORDED.exists(), "record one with SMSDESK_RECORD_HISTORY=1 (see module docstring)"


async def _reply_solve_autoclose(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """A full life: text, agent reply, solved, auto-closed 24 hours later, run completed."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    return await _answered_and_closed(stack, env, customer, ticket["id"], "It ships today")


async def _texts_on_an_open_ticket(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """Later texts become comments on the open ticket (no status change), then the same end."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    for body in ("It was due Monday", "Order 1234"):
        await stack.settled(customer)
        await stack.text(customer, body)
    await stack.settled(customer)
    return await _answered_and_closed(stack, env, customer, ticket["id"], "It ships today")


#: An agent reply over the SMS provider's 1,600-character limit (B12): 3 texts once split.
LONG_REPLY = " ".join(f"Step {i}: check the parcel label and the tracking page." for i in range(64))


async def _long_reply(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """A long agent reply: refused whole before SPLIT_LONG_REPLIES, texted in parts after."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], LONG_REPLY, status="solved")
    await stack.settled(customer)
    return await _completed(stack, env, customer)


async def _picture_on_an_open_ticket(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """A picture texted on the open ticket: only noted before INBOUND_MEDIA, uploaded and
    attached to its comment after (B7); then the same end."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.mms(customer, "The box arrived dented", [("image/jpeg", b"\xff\xd8 a jpeg")])
    await stack.settled(customer)
    return await _answered_and_closed(
        stack, env, customer, ticket["id"], "Sorry! A new one ships today"
    )


async def _reply_with_pictures(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """An agent reply with a picture and a PDF: the picture texted as MMS, the PDF noted
    (B11, after AGENT_MEDIA); then the same end."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    files = [("map.png", "image/png", b"\x89PNG a map"), ("bill.pdf", "application/pdf", b"%PDF")]
    return await _answered_and_closed(
        stack, env, customer, ticket["id"], "Pick it up here", files=files
    )


async def _a_busy_ticket(stack: Stack, env: WorkflowEnvironment) -> WorkflowHistory:
    """Ten texts one after another, then two more at once: each a comment straight away before
    PACED_TICKET_UPDATES; after it the last two wait one pace and become one comment (B5)."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    for index in range(TICKET_UPDATE_BURST):
        await stack.settled(customer)
        await stack.text(customer, f"Text {index}")
    await stack.settled(customer)
    await stack.text(customer, "Still there?")
    await stack.text(customer, "Hello?")
    await env.sleep(TICKET_UPDATE_PACE)
    await stack.settled(customer)
    return await _answered_and_closed(stack, env, customer, ticket["id"], "It ships today")


async def _answered_and_closed(
    stack: Stack,
    env: WorkflowEnvironment,
    customer: str,
    ticket_id: int,
    reply: str,
    files: list[tuple[str, str, bytes]] | None = None,
) -> WorkflowHistory:
    """The common end: an agent's reply solves the ticket, is texted, and the run completes."""
    await stack.agent_reply(ticket_id, reply, status="solved", files=files or [])
    await eventually(lambda: stack.texts_to(customer))
    await stack.settled(customer)
    return await _completed(stack, env, customer)


async def _completed(stack: Stack, env: WorkflowEnvironment, customer: str) -> WorkflowHistory:
    handle = stack.conversation(customer)
    await env.sleep(25 * 3600)
    await handle.result()
    return await handle.fetch_history()


#: What `SMSDESK_RECORD_HISTORY=1` records: file stem -> scenario. A new workflow version adds
#: a stem (say `..._v2`); histories recorded by earlier versions stay and keep replaying.
SCENARIOS = {
    RECORDED.stem: _reply_solve_autoclose,
    "conversation_texts_on_open_ticket": _texts_on_an_open_ticket,
    # After workflows/versions.py LOCAL_READS and SKIP_UNCHANGED_SEARCH_ATTRIBUTES.
    "conversation_texts_on_open_ticket_v2": _texts_on_an_open_ticket,
    # After RECALL_ONLY_A_KNOWN_TICKET: a first run recalls from the database alone.
    "conversation_texts_on_open_ticket_v3": _texts_on_an_open_ticket,
    # Before SPLIT_LONG_REPLIES: the provider refuses the long reply (21617), a note says so.
    "conversation_long_reply_refused": _long_reply,
    # After SPLIT_LONG_REPLIES: the same reply texted as 3 parts, one activity each.
    "conversation_long_reply_in_parts": _long_reply,
    # Before INBOUND_MEDIA: the picture is only mentioned in the comment.
    "conversation_picture_noted": _picture_on_an_open_ticket,
    # After INBOUND_MEDIA: one upload activity, then the comment with its token (B7).
    "conversation_picture_attached": _picture_on_an_open_ticket,
    # After AGENT_MEDIA: each reply's attachments are read; a picture texted, a PDF noted.
    "conversation_reply_with_pictures": _reply_with_pictures,
    # Before PACED_TICKET_UPDATES: twelve texts, twelve comments with no wait.
    "conversation_busy_ticket_unpaced": _a_busy_ticket,
    # After PACED_TICKET_UPDATES: the eleventh text waits on a timer for the pace.
    "conversation_busy_ticket_paced": _a_busy_ticket,
    # Generation 1 (workflows/versions.py): the same lives with every change above taken from
    # the run's start, and no patch marker.
    "generation_1_reply_solve_autoclose": _reply_solve_autoclose,
    "generation_1_texts_on_open_ticket": _texts_on_an_open_ticket,
    "generation_1_long_reply_in_parts": _long_reply,
    "generation_1_picture_attached": _picture_on_an_open_ticket,
    "generation_1_reply_with_pictures": _reply_with_pictures,
    "generation_1_busy_ticket_paced": _a_busy_ticket,
}


@pytest.mark.skipif(
    os.environ.get("SMSDESK_RECORD_HISTORY") != "1", reason="records new histories on demand"
)
@pytest.mark.parametrize("stem", sorted(SCENARIOS))
async def test_record_history(
    time_skipping_env: WorkflowEnvironment, engine: Engine, stem: str
) -> None:
    """Records only histories not on disk yet: committed ones are what older code did."""
    path = HISTORIES / f"{stem}.json"
    if path.exists():
        pytest.skip(f"{path.name} is committed; delete it to record it again")
    async with running_stack(time_skipping_env.client, engine) as stack:
        history = await SCENARIOS[stem](stack, time_skipping_env)
    path.write_text(json.dumps(history.to_json_dict(), indent=1))

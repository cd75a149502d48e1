"""Durable timers and long life on the time-skipping server (issue 4): auto-close (M16),
inactivity (M21), attribution (M18), texts sent from elsewhere (M11), continue-as-new.

The whole product runs as in production (sandboxes, webhooks, the worker factory); only the
Temporal server differs, and `env.sleep` moves its clock by hours in an instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from core.conversation import TICKET_UPDATE_BURST, TICKET_UPDATE_PACE, conversation_id
from infra import db
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket, public_bodies

HOUR = timedelta(hours=1)


@pytest.fixture
async def stack(time_skipping_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(time_skipping_env.client, engine) as running:
        yield running


async def ticket_status(stack: Stack, ticket_id: int) -> str:
    response = await stack.zendesk("GET", f"/api/v2/tickets/{ticket_id}")
    return str(response.json()["ticket"]["status"])


def notes(ticket: dict[str, Any]) -> list[str]:
    return [c["body"] for c in ticket["comments"] if not c["public"]]


async def open_ticket(stack: Stack, customer: str, text: str = "Hello") -> dict[str, Any]:
    await stack.text(customer, text)
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    return ticket


# --- M16 auto-close ---------------------------------------------------------------------------


async def test_a_ticket_solved_for_24_hours_is_closed(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    ticket = await open_ticket(stack, customer)
    await stack.set_status(ticket["id"], "solved")
    await stack.settled(customer)

    await time_skipping_env.sleep(23 * HOUR)
    assert await ticket_status(stack, ticket["id"]) == "solved"
    await time_skipping_env.sleep(2 * HOUR)
    await eventually(lambda: _status_is(stack, ticket["id"], "closed"))
    # The conversation rests: it completed, and the next text opens a follow-up.
    result = await stack.conversation(customer).result()
    assert result["last_ticket_id"] == ticket["id"]
    await stack.text(customer, "One more thing")
    tickets = await eventually(lambda: _at_least(stack, customer, 2))
    assert tickets[1]["via"]["source"]["from"]["ticket_id"] == ticket["id"]


async def test_a_reopen_cancels_the_auto_close(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    ticket = await open_ticket(stack, customer)
    await stack.set_status(ticket["id"], "solved")
    await stack.settled(customer)
    await time_skipping_env.sleep(12 * HOUR)
    await stack.text(customer, "Actually, it is not fixed")
    await stack.settled(customer)
    await time_skipping_env.sleep(13 * HOUR)
    await stack.settled(customer)
    assert await ticket_status(stack, ticket["id"]) == "open"


async def test_a_ticket_closed_in_zendesk_meanwhile_is_left_alone(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    ticket = await open_ticket(stack, customer)
    await stack.set_status(ticket["id"], "solved")
    await stack.settled(customer)
    # Zendesk's own automation closes it and the webhook is lost.
    await stack.http.post(
        stack.url("zendesk", "/_sandbox/config"), json={"webhooks_enabled": False}
    )
    await stack.http.post(
        stack.url("zendesk", f"/_sandbox/tickets/{ticket['id']}/status"), json={"status": "closed"}
    )
    await time_skipping_env.sleep(25 * HOUR)
    result = await stack.conversation(customer).result()
    assert result["last_ticket_id"] == ticket["id"]
    closed = (await stack.tickets_of(customer))[0]
    assert not any("Closed by smsdesk" in note for note in notes(closed))


# --- M21 inactivity ---------------------------------------------------------------------------


async def test_inactivity_solves_then_auto_close_closes(
    time_skipping_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_stack(
        time_skipping_env.client, engine, inactivity_close_after=timedelta(hours=48)
    ) as stack:
        customer = await stack.new_customer()
        ticket = await open_ticket(stack, customer)
        await time_skipping_env.sleep(47 * HOUR)
        assert await ticket_status(stack, ticket["id"]) == "new"
        await time_skipping_env.sleep(2 * HOUR)
        await eventually(lambda: _status_is(stack, ticket["id"], "solved"))
        solved = (await stack.tickets_of(customer))[0]
        assert any("no text from the customer for 48 hours" in n for n in notes(solved))
        await stack.settled(customer)
        await time_skipping_env.sleep(25 * HOUR)
        await eventually(lambda: _status_is(stack, ticket["id"], "closed"))


async def test_inactivity_close_is_off_by_default(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    ticket = await open_ticket(stack, customer)
    await time_skipping_env.sleep(24 * 30 * HOUR)
    state = await stack.settled(customer)
    assert await ticket_status(stack, ticket["id"]) == "new"
    assert state["next_deadline"] is None


# --- M18 attribution and M11 outbound texts ---------------------------------------------------


async def test_first_text_inside_the_window_is_attributed_to_the_last_campaign(
    stack: Stack, engine: Engine
) -> None:
    customer = await stack.new_customer()
    now = datetime.now(UTC)
    await stack.outbound(
        customer,
        "Spring sale: 20% off",
        sent_at=now - 3 * HOUR,
        name="Spring",
        campaign_or_flow_id="c1",
    )
    await stack.outbound(
        customer,
        "Last day of the sale!",
        sent_at=now - HOUR,
        name="Last day",
        campaign_or_flow_id="c2",
        kind="flow",
    )
    await stack.text(customer, "Does it apply to shoes?")
    await stack.text(customer, "And to bags?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)

    rows = db.attributions_for(
        engine, conversation_id=conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    )
    assert [(r.campaign_or_flow_id, r.origin, r.ticket_id) for r in rows] == [
        ("c2", "flow", ticket["id"])
    ]
    current = (await stack.tickets_of(customer))[0]
    assert "sms_attributed" in current["tags"] and "sms_flow_c2" in current["tags"]
    assert any("attributed" in note and "Last day" in note for note in notes(current))
    # M11: the texts sent before the ticket existed are shown as context in its first comment.
    first_comment = current["comments"][0]["body"]
    assert "Spring sale: 20% off" in first_comment and "Last day of the sale!" in first_comment


async def test_a_text_after_the_window_is_not_attributed(stack: Stack, engine: Engine) -> None:
    customer = await stack.new_customer()
    await stack.outbound(customer, "Old campaign", sent_at=datetime.now(UTC) - 25 * HOUR)
    await stack.settled(customer)
    await stack.text(customer, "Hi")
    await first_ticket(stack, customer)
    await stack.settled(customer)
    conversation = conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    assert db.attributions_for(engine, conversation_id=conversation) == []


async def test_other_outbound_texts_open_no_window_but_are_noted_on_the_ticket(
    stack: Stack, engine: Engine
) -> None:
    customer = await stack.new_customer()
    ticket = await open_ticket(stack, customer)
    await stack.outbound(
        customer,
        "Your parcel left the warehouse",
        kind="other",
        sent_at=datetime.now(UTC),
        campaign_or_flow_id=None,
        name=None,
    )
    await stack.text(customer, "Thanks!")
    state = await stack.settled(customer)
    assert state["state"]["attribution"] is None
    current = (await stack.tickets_of(customer))[0]
    assert any("Your parcel left the warehouse" in note for note in notes(current))
    conversation = conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    assert db.attributions_for(engine, conversation_id=conversation) == []
    assert ticket["id"] == current["id"]


async def test_an_attribution_window_with_no_reply_ends_and_the_conversation_rests(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    await stack.outbound(customer, "Flash sale", sent_at=datetime.now(UTC))
    state = await stack.settled(customer)
    assert state["next_deadline"] is not None
    await time_skipping_env.sleep(25 * HOUR)
    result = await stack.conversation(customer).result()
    assert result["texts_received"] == 0


# --- B5: Zendesk's per-ticket update limit ---------------------------------------------------


async def test_a_chatty_customer_is_written_at_the_pace_after_a_burst(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    customer = await stack.new_customer()
    await open_ticket(stack, customer, "text 0")
    for index in range(1, TICKET_UPDATE_BURST + 1):  # the burst: each text a comment at once
        await stack.text(customer, f"text {index}")
        await stack.settled(customer)
    await stack.text(customer, "text 11")
    await stack.text(customer, "text 12")
    await eventually(lambda: _waiting_for_a_slot(stack, customer))
    await time_skipping_env.sleep(TICKET_UPDATE_PACE)  # one pace, not the rest of 10 minutes
    await stack.settled(customer)

    bodies = public_bodies((await stack.tickets_of(customer))[0])
    assert len(bodies) == 12  # the ticket's first comment, the burst, and one for the wait
    assert bodies[-1].startswith("text 11\n\ntext 12")
    # Exactly one update per comment: a refused (429) and retried update would add one more.
    stats = (await stack.http.get(stack.url("zendesk", "/_sandbox/stats"))).json()
    assert stats["requests"]["PUT /api/v2/tickets/{ticket_id}"] == 11


async def _waiting_for_a_slot(stack: Stack, customer: str) -> bool:
    view = await stack.conversation(customer).query("state")
    return bool(view["busy"]) and view["queued"] == 2


# --- long life ------------------------------------------------------------------------------


async def test_continue_as_new_carries_the_conversation_on(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    # On the real dev server: continue-as-new needs no time skipping, and the Java test server
    # mishandles a signal that arrives while a run continues as new (queries then time out).
    async with running_stack(temporal_env.client, engine, continue_as_new_after_events=3) as stack:
        customer = await stack.new_customer()
        ticket = await open_ticket(stack, customer, "text 0")
        first_run = (await stack.conversation(customer).describe()).run_id
        for index in range(1, 8):
            await stack.text(customer, f"text {index}")
            await stack.settled(customer)
        await stack.text(customer, "text 1", sid=None)  # a new text with the same words
        state = await stack.settled(customer)
        assert (await stack.conversation(customer).describe()).run_id != first_run
        assert state["state"]["texts_received"] == 9
        assert state["state"]["ticket_id"] == ticket["id"]
        tickets = await stack.tickets_of(customer)
        assert len(tickets) == 1 and len(public_bodies(tickets[0])) == 9


async def _status_is(stack: Stack, ticket_id: int, status: str) -> bool:
    return await ticket_status(stack, ticket_id) == status


async def _at_least(stack: Stack, customer: str, count: int) -> list[dict[str, Any]] | None:
    tickets = await stack.tickets_of(customer)
    return tickets if len(tickets) >= count else None

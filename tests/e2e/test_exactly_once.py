"""B4 on the core path: redeliveries, provider faults and a killed worker neither lose nor
duplicate a ticket, comment or SMS."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session

from core.tables import TicketLink
from tests.helpers.stack import Stack, eventually
from tests.helpers.tickets import first_ticket, public_bodies


async def test_redelivered_inbound_webhook_changes_nothing(stack: Stack) -> None:
    customer = await stack.new_customer()
    for _ in range(3):
        response = await stack.text(customer, "Where is my order?", sid="SMduplicate0001")
        assert response.status_code == 200
    await first_ticket(stack, customer)
    state = await stack.settled(customer)
    tickets = await stack.tickets_of(customer)
    assert len(tickets) == 1 and len(public_bodies(tickets[0])) == 1
    assert state["state"]["texts_received"] == 1


async def test_redelivered_agent_comment_is_texted_once(stack: Stack) -> None:
    await stack.http.post(
        stack.url("zendesk", "/_sandbox/config"), json={"duplicate_probability": 1.0}
    )
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], "Hello, how can I help?")
    await eventually(lambda: stack.texts_to(customer))
    await stack.settled(customer)
    deliveries = (await stack.http.get(stack.url("zendesk", "/_sandbox/deliveries"))).json()
    assert len(deliveries["deliveries"]) >= 2  # the sandbox really did deliver twice
    assert [t["body"] for t in await stack.texts_to(customer)] == ["Hello, how can I help?"]


async def test_zendesk_500_and_429_are_retried_durably(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.arm_fault("zendesk", status=500, count=2, path_contains="/api/v2/tickets")
    await stack.arm_fault(
        "zendesk", status=429, count=1, retry_after=1, path_contains="/api/v2/tickets"
    )
    await stack.text(customer, "Is anyone there?")
    ticket = await first_ticket(stack, customer)
    stats = (await stack.http.get(stack.url("zendesk", "/_sandbox/stats"))).json()
    assert sum(stats["faults_injected"].values()) == 3
    await stack.settled(customer)
    assert len(await stack.tickets_of(customer)) == 1
    assert len(public_bodies(ticket)) == 1


async def test_worker_killed_mid_conversation_loses_and_duplicates_nothing(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "First")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)

    # Slow Zendesk down so the kill lands while a comment write is in flight.
    await stack.arm_fault(
        "zendesk", delay_ms=1500, count=1, path_contains=f"/tickets/{ticket['id']}"
    )
    await stack.text(customer, "Second")
    await asyncio.sleep(0.5)
    await stack.stop_worker()
    await stack.text(customer, "Third, while no worker runs")
    await stack.agent_reply(ticket["id"], "We are on it")
    await stack.start_worker()

    await eventually(lambda: stack.texts_to(customer), timeout=60)
    await stack.settled(customer)
    tickets = await stack.tickets_of(customer)
    assert len(tickets) == 1
    bodies = "\n".join(public_bodies(tickets[0]))
    for text in ("First", "Second", "Third, while no worker runs"):
        assert bodies.count(text) == 1, bodies
    assert [t["body"] for t in await stack.texts_to(customer)] == ["We are on it"]


async def test_agent_reply_arrives_even_before_the_ticket_link_is_written(
    stack: Stack, engine: Engine
) -> None:
    """A worker that dies between creating a ticket and recording its link must not make
    Zendesk's events for that ticket look foreign: the ticket's external_id names the
    conversation, and the receiver signals it directly."""
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    with Session(engine) as session:  # the state a crash between the two steps leaves
        session.delete(session.get(TicketLink, ticket["id"]))
        session.commit()
    await stack.agent_reply(ticket["id"], "Hello from support")
    texts = await eventually(lambda: stack.texts_to(customer))
    assert [t["body"] for t in texts] == ["Hello from support"]

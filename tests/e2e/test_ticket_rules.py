"""M4, M7, M13, M10/M20 end to end: texts become tickets and comments by the status rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from core.conversation import conversation_id
from core.queues import zendesk_update_queue
from devstack.sandboxes import SMS_BRAND_ID
from infra import db
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually
from tests.helpers.tickets import first_ticket, public_bodies


async def test_first_text_creates_an_sms_ticket_for_the_customer(stack: Stack) -> None:
    customer = await stack.new_customer(email="alex@acme.example")  # an agent's email, too
    response = await stack.text(customer, "Where is my order?")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text

    ticket = await first_ticket(stack, customer)
    assert "sms" in ticket["tags"]
    assert ticket["brand_id"] == SMS_BRAND_ID
    assert ticket["external_id"] == conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    assert ticket["description"] == "Where is my order?"
    requester = await stack.zendesk("GET", f"/api/v2/users/{ticket['requester_id']}")
    user = requester.json()["user"]
    assert (user["external_id"], user["role"]) == (f"sms:{customer}", "end-user")
    agent = (await stack.zendesk("GET", "/api/v2/users/2")).json()["user"]
    assert (agent["role"], agent["external_id"]) == ("agent", None)  # left untouched
    # The customer's own words are authored by the customer.
    assert ticket["comments"][0]["author_id"] == ticket["requester_id"]
    state = await stack.settled(customer)
    assert state["state"]["ticket_id"] == ticket["id"]


async def test_comments_read_exactly_as_texted(stack: Stack) -> None:
    """B13: agents read the customer's words and nothing else; smsdesk's exactly-once
    reference rides in each write's audit metadata instead."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.text(customer, "Order #1234 [shipped?]")
    await stack.settled(customer)

    current = (await stack.tickets_of(customer))[0]
    assert public_bodies(current) == ["Where is my order?", "Order #1234 [shipped?]"]
    assert current["description"] == "Where is my order?"
    audits = await stack.zendesk("GET", f"/api/v2/tickets/{ticket['id']}/audits")
    refs = [a["metadata"]["custom"].get("smsdesk_ref") for a in audits.json()["audits"]]
    assert len(refs) == 2 and all(refs) and refs[0] != refs[1]


async def test_texts_on_an_open_ticket_become_customer_comments(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hello")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.text(customer, "Are you there?")
    await stack.settled(customer)

    tickets = await stack.tickets_of(customer)
    assert len(tickets) == 1
    bodies = public_bodies(tickets[0])
    assert len(bodies) == 2 and bodies[1].startswith("Are you there?")
    assert tickets[0]["comments"][1]["author_id"] == ticket["requester_id"]
    # The comment was an Update Ticket: it ran on the queue whose rate limit is the update
    # budget (B14); the create and the requester on the account's.
    history = await stack.conversation(customer).fetch_history()
    queues = {
        e.activity_task_scheduled_event_attributes.activity_type.name: (
            e.activity_task_scheduled_event_attributes.task_queue.name
        )
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert queues["add_customer_comment"] == zendesk_update_queue(stack.settings.zendesk_task_queue)
    assert queues["open_ticket"] == stack.settings.zendesk_task_queue


async def test_pending_and_solved_tickets_reopen_with_the_comment(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "My parcel is late")
    ticket = await first_ticket(stack, customer)
    for status in ("pending", "solved"):
        await stack.set_status(ticket["id"], status)
        await stack.settled(customer)
        await stack.text(customer, f"still waiting ({status})")
        state = await stack.settled(customer)
        reopened = (await stack.tickets_of(customer))[0]
        assert reopened["status"] == "open"
        assert public_bodies(reopened)[-1].startswith(f"still waiting ({status})")
        assert state["state"]["ticket_status"] == "open"
    assert len(await stack.tickets_of(customer)) == 1


async def test_a_text_after_a_closed_ticket_opens_a_follow_up(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "First problem")
    ticket = await first_ticket(stack, customer)
    await stack.set_status(ticket["id"], "closed")
    await stack.settled(customer)

    await stack.text(customer, "A new problem")
    tickets = await eventually(lambda: _at_least(stack, customer, 2))
    original, follow_up = tickets
    assert follow_up["via"]["source"]["rel"] == "follow_up"
    assert follow_up["via"]["source"]["from"]["ticket_id"] == ticket["id"]
    assert original["followup_ids"] == [follow_up["id"]]
    assert public_bodies(follow_up)[0].startswith("A new problem")


async def test_a_fresh_run_recalls_the_closed_ticket_and_opens_a_follow_up(stack: Stack) -> None:
    """Once its ticket closed the conversation's run ends; the next text starts a fresh run,
    which must learn the ticket from the database and its status from Zendesk (M7)."""
    customer = await stack.new_customer()
    await stack.text(customer, "First problem")
    ticket = await first_ticket(stack, customer)
    await stack.set_status(ticket["id"], "closed")
    await stack.settled(customer)
    await stack.conversation(customer).result()

    await stack.text(customer, "A new problem")
    original, follow_up = await eventually(lambda: _at_least(stack, customer, 2))
    assert follow_up["via"]["source"]["from"]["ticket_id"] == ticket["id"]
    history = await stack.conversation(customer).fetch_history()
    recalled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert recalled[0] == "get_ticket_status", recalled


async def test_zendesk_saying_closed_wins_over_what_the_conversation_remembers(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "First problem")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    # Zendesk closes the ticket but the webhook never arrives: the conversation still thinks
    # it is open, and Zendesk's 422 on the update must lead to a follow-up.
    await stack.http.post(
        stack.url("zendesk", "/_sandbox/config"), json={"webhooks_enabled": False}
    )
    await stack.http.post(
        stack.url("zendesk", f"/_sandbox/tickets/{ticket['id']}/status"), json={"status": "closed"}
    )
    await stack.http.post(stack.url("zendesk", "/_sandbox/config"), json={"webhooks_enabled": True})
    await stack.text(customer, "Hello again")
    tickets = await eventually(lambda: _at_least(stack, customer, 2))
    assert public_bodies(tickets[1])[0].startswith("Hello again")
    assert len(public_bodies(tickets[0])) == 1


async def test_media_is_noted_rather_than_lost(stack: Stack) -> None:
    """Media that cannot be attached (B7: the provider no longer has it) are named instead."""
    customer = await stack.new_customer()
    account = stack.settings.twilio_account_sid
    gone = stack.url("twilio", f"/2010-04-01/Accounts/{account}/Messages/MMx/Media/MEx")
    await stack.text(customer, "See the photo", media=(gone,))
    ticket = await first_ticket(stack, customer)
    assert "sent with this text but not attached here" in ticket["comments"][0]["body"]


async def test_every_text_is_logged_with_its_segments(stack: Stack, engine: Engine) -> None:
    customer = await stack.new_customer()
    long_text = "x" * 200  # two GSM-7 segments
    await stack.text(customer, long_text)
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], "Réponse 😀")
    await eventually(lambda: stack.texts_to(customer))
    await stack.settled(customer)

    log = db.messages_for(
        engine, conversation_id=conversation_id(ACCOUNT_NUMBER, customer, stack.settings)
    )
    inbound = [m for m in log if m.direction == "inbound"]
    outbound = [m for m in log if m.direction == "outbound"]
    assert [(m.body, m.encoding, m.segments, m.ticket_id) for m in inbound] == [
        (long_text, "GSM-7", 2, ticket["id"])
    ]
    assert [(m.kind, m.encoding, m.segments, m.status) for m in outbound][0][:3] == (
        "agent_reply",
        "UCS-2",
        1,
    )


async def _at_least(stack: Stack, customer: str, count: int) -> list[dict[str, Any]] | None:
    tickets = await stack.tickets_of(customer)
    return tickets if len(tickets) >= count else None

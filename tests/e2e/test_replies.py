"""M8, M9, M12 and B8 end to end: agent replies reach the customer by SMS, or say why not."""

from __future__ import annotations

from typing import Any

from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually
from tests.helpers.tickets import first_ticket, internal_notes, ticket_now


async def test_public_agent_reply_is_texted_from_the_number_the_customer_texted(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    second_number = stack.settings.sms_numbers[1]
    await stack.text(customer, "Where is my order?", to=second_number)
    ticket = await first_ticket_on(stack, customer, second_number)
    await stack.agent_reply(ticket["id"], "It ships today")

    texts = await eventually(lambda: stack.texts_to(customer))
    assert [(t["from"], t["body"]) for t in texts] == [(second_number, "It ships today")]
    state = await stack.settled(customer, second_number)
    assert state["state"]["replies_sent"] == 1


async def test_internal_notes_and_customer_comments_are_never_texted(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], "internal: check the warehouse", public=False)
    await stack.text(customer, "Hello?")  # written to Zendesk as the customer's comment
    await stack.settled(customer)
    await stack.agent_reply(ticket["id"], "Found it")
    await eventually(lambda: stack.texts_to(customer))
    await stack.settled(customer)
    assert [t["body"] for t in await stack.texts_to(customer)] == ["Found it"]


async def test_smsdesks_own_comments_and_notes_never_echo_back(stack: Stack) -> None:
    """Loop safety without markers (B13): the customer's texts are written as the customer
    (not staff) and smsdesk's notes are private, so neither is ever texted."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.text(customer, "Hello?")  # a comment update, not a create
    await stack.settled(customer)
    await stack.http.post(stack.url("twilio", "/_sandbox/unreachable"), json={"phone": customer})
    await stack.agent_reply(ticket["id"], "It ships today")

    async def noted() -> list[str] | None:
        await stack.settled(customer)
        notes = internal_notes(await ticket_now(stack, ticket["id"]))
        return [n for n in notes if "could not be delivered" in n] or None

    await eventually(noted)  # smsdesk's own note (B2) went through Zendesk's webhook too
    state = await stack.settled(customer)
    assert [t["body"] for t in await stack.texts_to(customer)] == ["It ships today"]
    assert state["state"]["replies_sent"] == 1
    comments = (await ticket_now(stack, ticket["id"]))["comments"]
    assert not [c["body"] for c in comments if "[smsdesk ref" in c["body"]]


async def test_a_comment_with_a_marker_from_before_b13_never_echoes_back(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    # Versions before B13 marked their comments; a staff-authored public one was smsdesk's.
    await stack.agent_reply(ticket["id"], "Context\n\n[smsdesk ref campaign:42]")
    state = await stack.settled(customer)
    assert await stack.texts_to(customer) == []
    assert state["state"]["replies_sent"] == 0


async def test_reply_by_an_agent_with_the_customers_email_is_not_sent(stack: Stack) -> None:
    customer = await stack.new_customer(email="alex@acme.example")  # the sandbox agent's email
    await stack.text(customer, "Testing our own SMS line")
    ticket = await first_ticket(stack, customer)
    await stack.agent_reply(ticket["id"], "Test reply")
    await stack.settled(customer)
    assert await stack.texts_to(customer) == []
    notes = internal_notes(await ticket_now(stack, ticket["id"]))
    assert any("not sent" in note and "email" in note for note in notes)


async def test_reply_to_a_customer_who_opted_out_is_not_sent(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Question about my bill")
    ticket = await first_ticket(stack, customer)
    await stack.text(customer, "STOP")
    await stack.settled(customer)
    await stack.agent_reply(ticket["id"], "Here is your answer")
    await stack.settled(customer)
    assert await stack.texts_to(customer) == []
    notes = internal_notes(await ticket_now(stack, ticket["id"]))
    assert any("not sent" in note and "consent" in note for note in notes)


async def test_provider_refusal_leaves_an_internal_note(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    # The carrier knows the customer opted out even though we were not told (error 21610).
    await stack.http.post(stack.url("twilio", "/_sandbox/opt_out"), json={"phone": customer})
    await stack.agent_reply(ticket["id"], "Hello from support")
    await stack.settled(customer)
    notes = internal_notes(await ticket_now(stack, ticket["id"]))
    assert any("opted out" in note for note in notes)


async def test_undelivered_text_is_reported_on_the_ticket(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hi")
    ticket = await first_ticket(stack, customer)
    await stack.http.post(stack.url("twilio", "/_sandbox/unreachable"), json={"phone": customer})
    await stack.agent_reply(ticket["id"], "Are you still there?")
    await eventually(lambda: stack.texts_to(customer))

    async def noted() -> list[str] | None:
        await stack.settled(customer)
        notes = internal_notes(await ticket_now(stack, ticket["id"]))
        return [n for n in notes if "could not be delivered" in n] or None

    notes = await eventually(noted)
    assert "Are you still there?" in notes[0]


async def first_ticket_on(stack: Stack, customer: str, sender: str) -> dict[str, Any]:
    async def created() -> dict[str, Any] | None:
        tickets = await stack.tickets_of(customer, sender)
        return tickets[0] if tickets else None

    return await eventually(created)


__all__ = ["ACCOUNT_NUMBER"]

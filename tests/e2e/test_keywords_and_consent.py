"""M5, M12 and M14 end to end: keywords, consent and the auto-responder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from core.conversation import conversation_id
from core.tables import Consent
from infra import db
from tests.helpers.stack import Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket


async def test_keywords_create_no_ticket_but_help_does(stack: Stack) -> None:
    customer = await stack.new_customer()
    for keyword in ("JOIN", " stop ", "START", "unstop"):
        await stack.text(customer, keyword)
    await stack.settled(customer)
    assert await stack.tickets_of(customer) == []
    # Every keyword was handled and logged, whether one run took them all or (a conversation
    # without a ticket completes once idle) each text started a new run.
    logged = db.messages_for(stack.engine, conversation_id=conversation_id_of(stack, customer))
    assert sorted(row.body for row in logged) == sorted(["JOIN", " stop ", "START", "unstop"])

    await stack.text(customer, "help")
    ticket = await first_ticket(stack, customer)
    assert ticket["description"].startswith("help")


def conversation_id_of(stack: Stack, customer: str) -> str:
    return conversation_id(stack.settings.sms_numbers[0], customer, stack.settings)


async def test_opt_out_and_opt_in_take_effect_at_once(stack: Stack, engine: Engine) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "STOP")
    await stack.settled(customer)
    assert db.get_consent(engine, phone=customer) is Consent.OPTED_OUT
    await stack.text(customer, "Where is my order?")  # no consent now: auto-responder instead
    await stack.settled(customer)
    assert await stack.tickets_of(customer) == []

    await stack.text(customer, "START")
    await stack.text(customer, "Where is my order?")
    await stack.settled(customer)
    assert db.get_consent(engine, phone=customer) is Consent.OPTED_IN
    assert len(await stack.tickets_of(customer)) == 1


async def test_sender_without_consent_gets_the_auto_responder_once(stack: Stack) -> None:
    customer = await stack.new_customer(consent="NEVER_SUBSCRIBED")
    stranger = await stack.new_customer(known=False)
    for phone in (customer, stranger):
        await stack.text(phone, "Hi, who is this?")
        await stack.settled(phone)
        # With no ticket the conversation rests and its run completes: the once-a-day rule
        # must hold across runs, so the next text starts a new run that still knows.
        await stack.conversation(phone).result()
        await stack.text(phone, "Hello??")
        await stack.settled(phone)
        assert await stack.tickets_of(phone) == []
        texts = await stack.texts_to(phone)
        assert [t["body"] for t in texts] == [stack.settings.auto_responder_text]


async def test_a_conversation_that_never_had_a_ticket_spends_none_of_the_zendesk_budget(
    stack: Stack,
) -> None:
    """Each fresh run learns from the database that there is no ticket to recall: nothing runs
    on the Zendesk queue, whose rate limit is the account's budget (B5)."""
    customer = await stack.new_customer(consent="NEVER_SUBSCRIBED")
    for body in ("Hi, who is this?", "Hello??"):
        await stack.text(customer, body)
        await stack.settled(customer)
        await stack.conversation(customer).result()
    workflow_id = stack.conversation(customer).id
    runs = [e.run_id async for e in stack.client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    assert len(runs) >= 2
    queues = [
        event.activity_task_scheduled_event_attributes.task_queue.name
        for run_id in runs
        for event in (
            await stack.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        ).events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert queues and stack.settings.zendesk_task_queue not in queues, queues


async def test_texts_from_before_the_sync_was_switched_on_are_never_ticketed(
    temporal_env,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    async with running_stack(temporal_env.client, engine, sms_sync_enabled_at=future) as stack:
        customer = await stack.new_customer()
        await stack.text(customer, "Sent before the integration was on")
        state = await stack.settled(customer)
        assert await stack.tickets_of(customer) == []
        assert state["state"]["texts_received"] == 1

    past = datetime.now(UTC) - timedelta(seconds=1)
    async with running_stack(temporal_env.client, engine, sms_sync_enabled_at=past) as stack:
        later = await stack.new_customer()
        await stack.text(later, "Sent after")
        await eventually(lambda: stack.tickets_of(later))

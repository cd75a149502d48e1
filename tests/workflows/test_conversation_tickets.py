"""SmsConversation's ticket decisions (M4, M7, M16, M21, B5, B7) with fake activities on the
time-skipping server: what the conversation asks of Zendesk for each text, status and timer,
and what it then remembers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.customers import CustomerActivities, TriageInput
from activities.media import MediaActivities, MediaUploadInput
from activities.zendesk import (
    RequesterInput,
    TicketLookupInput,
    TransitionInput,
    ZendeskActivities,
)
from core.messages import TicketStatus
from core.rules import KeywordClass
from tests.helpers.conversation_rig import (
    CUSTOMER,
    HOUR,
    SENDER,
    ConversationRig,
    comments,
    conversation_rig,
    opened,
)
from tests.helpers.fake_activities import FIRST_TICKET_ID, REQUESTER_ID
from tests.helpers.stack import eventually

TICKET = FIRST_TICKET_ID


async def open_ticket(rig: ConversationRig) -> None:
    await rig.text("Where is my order?")
    assert (await rig.settled()).state.ticket_id == TICKET


# --- M4/M7: which write each text makes --------------------------------------------------------


async def test_the_first_text_opens_a_ticket_as_the_customer(rig: ConversationRig) -> None:
    text = await rig.text("Where is my order?")
    view = await rig.settled()

    [triage] = rig.fakes.args(CustomerActivities.triage_inbound, TriageInput)
    assert [(t.text.body, t.keyword) for t in triage.texts] == [(text.body, KeywordClass.NONE)]
    [requester] = rig.fakes.args(ZendeskActivities.ensure_requester, RequesterInput)
    assert requester == RequesterInput(customer_phone=CUSTOMER, name="Ana")
    [ticket] = opened(rig)
    assert (ticket.sender_number, ticket.customer_phone) == (SENDER, CUSTOMER)
    assert ticket.requester_id == REQUESTER_ID and ticket.brand_id == 360
    assert ticket.follow_up_of is None and ticket.context_until == text.received_at
    assert [(t.message_sid, t.body) for t in ticket.texts] == [(text.message_sid, text.body)]
    # Reads run inside the workflow task; Zendesk calls on the queue of its budget (B5).
    assert [c.local for c in rig.fakes.calls if c.name == "triage_inbound"] == [True]
    assert rig.fakes.queue_of(ZendeskActivities.open_ticket) == {f"{rig.task_queue}-zendesk"}
    assert (view.state.ticket_id, view.state.ticket_status) == (TICKET, TicketStatus.NEW)
    assert view.state.requester_id == REQUESTER_ID and view.state.texts_received == 1


@pytest.mark.parametrize("status", [TicketStatus.NEW, TicketStatus.OPEN])
async def test_a_text_on_a_working_ticket_is_a_comment(
    rig: ConversationRig, status: TicketStatus
) -> None:
    await open_ticket(rig)
    if status is not TicketStatus.NEW:
        await rig.status(TICKET, status)
    text = await rig.text("It was due Monday")
    view = await rig.settled()

    [comment] = comments(rig)
    assert comment.ticket_id == TICKET and comment.requester_id == REQUESTER_ID
    assert [t.body for t in comment.texts] == [text.body] and not comment.reopen
    assert rig.fakes.queue_of(ZendeskActivities.add_customer_comment) == {
        f"{rig.task_queue}-zendesk-updates"
    }
    assert len(opened(rig)) == 1
    assert rig.fakes.names().count("ensure_requester") == 1  # the requester is remembered
    assert view.state.ticket_status is status and view.state.texts_received == 2


@pytest.mark.parametrize("status", [TicketStatus.PENDING, TicketStatus.HOLD, TicketStatus.SOLVED])
async def test_a_text_on_a_pending_held_or_solved_ticket_reopens_it(
    rig: ConversationRig, status: TicketStatus
) -> None:
    await open_ticket(rig)
    await rig.status(TICKET, status)
    await rig.text("It is not fixed")
    view = await rig.settled()

    [comment] = comments(rig)
    assert comment.ticket_id == TICKET and comment.reopen
    assert view.state.ticket_status is TicketStatus.OPEN
    assert view.next_deadline is None  # a reopened ticket has no auto-close running


async def test_a_text_after_the_ticket_closed_opens_a_follow_up_in_a_fresh_run(
    rig: ConversationRig,
) -> None:
    await open_ticket(rig)
    await rig.status(TICKET, TicketStatus.CLOSED)
    rested = await rig.rested()  # nothing left to watch: the run completes
    assert (rested.last_ticket_id, rested.texts_received) == (TICKET, 1)

    await rig.text("One more thing")
    view = await rig.settled()
    # The fresh run learns the last ticket from the database and its status from Zendesk.
    assert rig.fakes.args(ZendeskActivities.get_ticket_status, TicketLookupInput) == [
        TicketLookupInput(ticket_id=TICKET)
    ]
    assert comments(rig) == []
    assert [t.follow_up_of for t in opened(rig)] == [None, TICKET]
    assert (view.state.ticket_id, view.state.last_closed_ticket_id) == (TICKET + 1, TICKET)


async def test_a_ticket_closed_unseen_refuses_the_comment_and_gets_a_follow_up(
    rig: ConversationRig,
) -> None:
    await open_ticket(rig)
    rig.fakes.tickets[TICKET] = TicketStatus.CLOSED  # closed in Zendesk, the webhook lost
    await rig.text("Hello again")
    view = await rig.settled()

    assert [c.ticket_id for c in comments(rig)] == [TICKET]
    assert [t.follow_up_of for t in opened(rig)] == [None, TICKET]
    assert [t.body for t in opened(rig)[1].texts] == ["Hello again"]
    assert (view.state.ticket_id, view.state.last_closed_ticket_id) == (TICKET + 1, TICKET)


async def test_a_status_change_of_another_ticket_is_ignored(rig: ConversationRig) -> None:
    await open_ticket(rig)
    await rig.status(TICKET - 1, TicketStatus.SOLVED)
    view = await rig.settled()
    assert (view.state.ticket_id, view.state.ticket_status) == (TICKET, TicketStatus.NEW)
    assert view.next_deadline is None


# --- B5: bursts and redeliveries -------------------------------------------------------------


async def test_texts_that_queue_while_the_ticket_is_opened_become_one_comment(
    rig: ConversationRig,
) -> None:
    rig.fakes.hold_open_ticket = asyncio.Event()
    await rig.text("Hi")
    await eventually(lambda: _called(rig, "open_ticket"))
    await rig.text("My order is late")
    await rig.text("Order 1234")
    await eventually(lambda: _queued(rig, 2))
    rig.fakes.hold_open_ticket.set()
    view = await rig.settled()

    assert [[t.body for t in c.texts] for c in comments(rig)] == [
        ["My order is late", "Order 1234"]
    ]
    assert len(opened(rig)) == 1
    assert view.state.texts_received == 3


async def test_a_redelivered_text_is_handled_once(rig: ConversationRig) -> None:
    await rig.text("Where is my order?", sid="SMdup")
    await rig.text("Where is my order?", sid="SMdup")
    await rig.text("Hello?")
    view = await rig.settled()
    assert len(opened(rig)) == 1 and [t.body for c in comments(rig) for t in c.texts] == ["Hello?"]
    assert view.state.texts_received == 2


# --- B7: a customer's pictures ---------------------------------------------------------------


async def test_a_texts_pictures_are_uploaded_and_attached_to_its_comment(
    rig: ConversationRig,
) -> None:
    text = await rig.text("Look at this", media=2)
    await rig.settled()
    [upload] = rig.fakes.args(MediaActivities.upload_inbound_media, MediaUploadInput)
    assert [(i.message_sid, i.index) for i in upload.items] == [
        (text.message_sid, 0),
        (text.message_sid, 1),
    ]
    [written] = opened(rig)[0].texts
    assert written.uploads == ["tok-0", "tok-1"] and written.media_count == 2


# --- a write that can never succeed ----------------------------------------------------------


async def test_a_text_refused_for_good_is_kept_for_the_operator(rig: ConversationRig) -> None:
    rig.fakes.refuse_open_ticket = "Unauthorized"
    text = await rig.text("Where is my order?")
    rested = await rig.rested()  # still no ticket: the run rests instead of failing
    assert rested.last_ticket_id is None
    view = await rig.settled()
    assert [f.event for f in view.state.failed] == [text]
    assert view.state.failed[0].error == "Unauthorized: zendesk: 401"

    await rig.text("Anyone there?")  # once the credentials are fixed, the next text gets through
    assert (await rig.settled()).state.ticket_id == TICKET


# --- M16 auto-close and M21 inactivity --------------------------------------------------------


async def test_a_solved_ticket_is_closed_after_24_hours_without_a_text(
    rig: ConversationRig, time_skipping_env: WorkflowEnvironment
) -> None:
    await open_ticket(rig)
    await rig.status(TICKET, TicketStatus.SOLVED)
    view = await rig.settled()
    assert view.state.solved_at is not None
    assert view.next_deadline == view.state.solved_at + 24 * HOUR

    await time_skipping_env.sleep(23 * HOUR)
    await rig.settled()
    assert "transition_ticket" not in rig.fakes.names()
    await time_skipping_env.sleep(2 * HOUR)
    rested = await rig.rested()

    [closing] = rig.fakes.args(ZendeskActivities.transition_ticket, TransitionInput)
    assert (closing.ticket_id, closing.when, closing.to_status) == (
        TICKET,
        [TicketStatus.SOLVED],
        TicketStatus.CLOSED,
    )
    assert closing.note == "Closed by smsdesk: solved for 24 hours with no new text."
    assert rig.fakes.queue_of(ZendeskActivities.transition_ticket) == {
        f"{rig.task_queue}-zendesk-updates"
    }
    assert rested.last_ticket_id == TICKET and rig.fakes.tickets[TICKET] is TicketStatus.CLOSED


async def test_a_ticket_an_agent_reopened_meanwhile_is_left_open(
    rig: ConversationRig, time_skipping_env: WorkflowEnvironment
) -> None:
    await open_ticket(rig)
    await rig.status(TICKET, TicketStatus.SOLVED)
    await rig.settled()
    rig.fakes.tickets[TICKET] = TicketStatus.OPEN  # reopened in Zendesk, the webhook lost
    await time_skipping_env.sleep(25 * HOUR)
    await eventually(lambda: _called(rig, "transition_ticket"))
    view = await rig.settled()

    assert (view.state.ticket_status, view.next_deadline) == (TicketStatus.OPEN, None)
    assert rig.fakes.tickets[TICKET] is TicketStatus.OPEN
    assert (await rig.handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_inactivity_solves_the_ticket_and_the_auto_close_follows(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with conversation_rig(
        time_skipping_env.client, inactivity_close_after=timedelta(hours=48)
    ) as rig:
        await open_ticket(rig)
        view = await rig.settled()
        assert view.state.last_customer_text_at is not None
        assert view.next_deadline == view.state.last_customer_text_at + 48 * HOUR
        await time_skipping_env.sleep(49 * HOUR)
        await eventually(lambda: _called(rig, "transition_ticket"))
        view = await rig.settled()
        assert view.state.ticket_status is TicketStatus.SOLVED
        await time_skipping_env.sleep(25 * HOUR)
        await rig.rested()

        solving, closing = rig.fakes.args(ZendeskActivities.transition_ticket, TransitionInput)
        assert (solving.when, solving.to_status) == (
            [TicketStatus.NEW, TicketStatus.OPEN],
            TicketStatus.SOLVED,
        )
        assert solving.note == "Solved by smsdesk: no text from the customer for 48 hours."
        assert (closing.when, closing.to_status) == ([TicketStatus.SOLVED], TicketStatus.CLOSED)


async def _called(rig: ConversationRig, name: str) -> bool:
    return name in rig.fakes.names()


async def _queued(rig: ConversationRig, count: int) -> bool:
    return (await rig.view()).queued == count

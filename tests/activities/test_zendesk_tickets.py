"""The Zendesk activities a conversation's life runs through, under ActivityEnvironment against
the sandbox Zendesk over ASGI and a real SQLite: the requester, a ticket and its follow-up with
the brand's earlier texts as context (M4, M7, M11), recall, reopening, notes on closed tickets,
the replying agent (cached) and the timers' transitions (M16, M21)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.records import OutboundRecordInput, RecordActivities
from activities.zendesk import (
    AgentInput,
    CustomerCommentInput,
    CustomerText,
    InternalNoteInput,
    OpenTicketInput,
    RecallInput,
    RequesterInput,
    TicketLookupInput,
    TransitionInput,
    ZendeskActivities,
)
from clients.zendesk import ZendeskClient
from core.messages import OutboundSms, TicketStatus
from infra import db
from sandbox.zendesk import create_zendesk_app
from sandbox.zendesk_model import AGENT_ID, Status, Ticket

TOKEN = "test-token"
CONVERSATION = "sms-conversation-15550100001-15551230001"
SENDER, CUSTOMER = "+15550100001", "+15551230001"
SOLVED, OPEN, CLOSED = TicketStatus.SOLVED, TicketStatus.OPEN, TicketStatus.CLOSED


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: FastAPI) -> None:
        self._inner = httpx.ASGITransport(app)
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return await self._inner.handle_async_request(request)


@dataclasses.dataclass
class Rig:
    app: FastAPI
    transport: CountingTransport
    activities: ZendeskActivities
    engine: Engine
    env: ActivityEnvironment

    def ticket(self, ticket_id: int) -> Ticket:
        ticket: Ticket = self.app.state.sandbox.data.tickets[ticket_id]
        return ticket

    def force(self, ticket_id: int, status: Status) -> None:
        """A status set in Zendesk by an agent or an automation."""
        self.app.state.sandbox.force_status(ticket_id, status)

    async def requester(self) -> int:
        found = await self.env.run(
            self.activities.ensure_requester, RequesterInput(customer_phone=CUSTOMER, name="Ana")
        )
        return found.user_id

    async def open(self, body: str = "Where is my order?", **fields: object) -> int:
        request = OpenTicketInput(
            conversation_id=CONVERSATION,
            sender_number=SENDER,
            customer_phone=CUSTOMER,
            requester_id=await self.requester(),
            texts=[CustomerText(message_sid=f"SM{len(self.transport.seen)}", body=body)],
            context_until=fields.pop("context_until", datetime.now(UTC)),
            **fields,
        )
        return (await self.env.run(self.activities.open_ticket, request)).ticket_id


@pytest.fixture
async def rig(engine: Engine) -> AsyncIterator[Rig]:
    app = create_zendesk_app(oauth_token=TOKEN)
    transport = CountingTransport(app)
    async with httpx.AsyncClient(transport=transport) as http:
        zendesk = ZendeskClient(
            http, base_url="https://acme.zendesk.com", authorization=f"Bearer {TOKEN}"
        )
        yield Rig(app, transport, ZendeskActivities(zendesk, engine), engine, ActivityEnvironment())
    await app.state.sandbox.aclose()


# --- M4/M7/M11: requester and tickets ---------------------------------------------------------


async def test_the_requester_is_one_user_per_phone_named_after_the_profile_or_the_number(
    rig: Rig,
) -> None:
    first = await rig.requester()
    again = await rig.requester()
    nameless = await rig.env.run(
        rig.activities.ensure_requester, RequesterInput(customer_phone="+15559990000")
    )
    users = rig.app.state.sandbox.data.users
    assert first == again != nameless.user_id
    assert (users[first].name, users[first].external_id) == ("Ana", f"sms:{CUSTOMER}")
    assert users[nameless.user_id].name == "+15559990000"


async def test_a_ticket_is_opened_as_the_customer_and_linked_to_the_conversation(
    rig: Rig,
) -> None:
    ticket_id = await rig.open("Where is my order?\nIt was due Monday", brand_id=360001)
    ticket = rig.ticket(ticket_id)
    assert ticket.subject == f"SMS from {CUSTOMER}: Where is my order? It was due Monday"
    assert (ticket.external_id, ticket.tags, ticket.brand_id) == (CONVERSATION, ["sms"], 360001)
    assert ticket.requester_id == ticket.comments[0].author_id == await rig.requester()
    assert [c.body for c in ticket.comments] == ["Where is my order?\nIt was due Monday"]
    link = db.latest_ticket(rig.engine, conversation_id=CONVERSATION)
    assert link is not None and (link.ticket_id, link.follow_up_of) == (ticket_id, None)


async def test_a_follow_up_of_a_closed_ticket_is_linked_to_it(rig: Rig) -> None:
    closed = await rig.open("First problem")
    rig.force(closed, "closed")
    follow_up = await rig.open("Another problem", follow_up_of=closed)
    assert rig.ticket(follow_up).via["source"]["from"]["ticket_id"] == closed
    link = db.latest_ticket(rig.engine, conversation_id=CONVERSATION)
    assert link is not None and (link.ticket_id, link.follow_up_of) == (follow_up, closed)


async def test_texts_the_brand_sent_before_the_first_text_open_the_ticket_as_context(
    rig: Rig,
) -> None:
    now = datetime.now(UTC)
    records = RecordActivities(rig.engine)
    for message_id, body, sent_at in [
        ("c1", "Spring sale: 20% off", now - timedelta(hours=2)),
        ("c2", "Sent after the customer wrote", now + timedelta(minutes=1)),
    ]:
        text = OutboundSms(
            message_id=message_id,
            origin="campaign",
            sender_number=SENDER,
            customer_phone=CUSTOMER,
            body=body,
            sent_at=sent_at,
        )
        await rig.env.run(
            records.record_outbound, OutboundRecordInput(conversation_id=CONVERSATION, text=text)
        )
    ticket_id = await rig.open("Does it apply to shoes?", context_until=now)
    assert rig.ticket(ticket_id).comments[0].body == (
        "[campaign text sent to the customer earlier]\nSpring sale: 20% off\n\n"
        "[the customer's reply]\n\nDoes it apply to shoes?"
    )
    # Shown once: the next ticket will not repeat it; the later text waits for its own.
    later = db.unticketed_outbound(
        rig.engine, conversation_id=CONVERSATION, until=now + timedelta(hours=1)
    )
    assert [row.body for row in later] == ["Sent after the customer wrote"]


# --- recall and status ------------------------------------------------------------------------


async def test_a_conversation_without_a_ticket_recalls_none_without_asking_zendesk(
    rig: Rig,
) -> None:
    recalled = await rig.env.run(
        rig.activities.recall_latest_ticket, RecallInput(conversation_id=CONVERSATION)
    )
    assert recalled.ticket is None and rig.transport.seen == []


async def test_the_latest_ticket_is_recalled_with_its_status_now(rig: Rig) -> None:
    await rig.open("First")
    latest = await rig.open("Second")
    rig.force(latest, "solved")
    recalled = await rig.env.run(
        rig.activities.recall_latest_ticket, RecallInput(conversation_id=CONVERSATION)
    )
    assert recalled.ticket is not None
    assert (recalled.ticket.ticket_id, recalled.ticket.status) == (latest, SOLVED)
    status = await rig.env.run(
        rig.activities.get_ticket_status, TicketLookupInput(ticket_id=latest)
    )
    assert status == recalled.ticket


# --- comments and notes -----------------------------------------------------------------------


async def test_a_comment_that_reopens_sets_open_in_the_same_update(rig: Rig) -> None:
    ticket_id = await rig.open()
    rig.force(ticket_id, "solved")
    before = len(rig.transport.seen)
    commented = await rig.env.run(
        rig.activities.add_customer_comment,
        CustomerCommentInput(
            ticket_id=ticket_id,
            requester_id=await rig.requester(),
            texts=[CustomerText(message_sid="SM9", body="Still broken")],
            reopen=True,
        ),
    )
    assert commented.ticket is not None and commented.ticket.status is OPEN
    assert rig.ticket(ticket_id).status == "open"
    assert rig.transport.seen[before:].count(f"PUT /api/v2/tickets/{ticket_id}") == 1


async def test_a_closed_ticket_takes_no_comment_and_says_so(rig: Rig) -> None:
    ticket_id = await rig.open()
    rig.force(ticket_id, "closed")
    commented = await rig.env.run(
        rig.activities.add_customer_comment,
        CustomerCommentInput(
            ticket_id=ticket_id,
            requester_id=await rig.requester(),
            texts=[CustomerText(message_sid="SM9", body="Hello?")],
            reopen=False,
        ),
    )
    assert commented.ticket is None  # the workflow opens a follow-up instead
    assert len(rig.ticket(ticket_id).comments) == 1


async def test_a_note_is_private_with_its_tags_and_a_closed_ticket_takes_none(rig: Rig) -> None:
    ticket_id = await rig.open()
    note = InternalNoteInput(
        ticket_id=ticket_id, body="Attributed to Spring", key="a:1", tags=["sms_attributed"]
    )
    assert (await rig.env.run(rig.activities.add_internal_note, note)).written
    ticket = rig.ticket(ticket_id)
    assert [(c.body, c.public) for c in ticket.comments[1:]] == [("Attributed to Spring", False)]
    assert "sms_attributed" in ticket.tags and "sms" in ticket.tags

    rig.force(ticket_id, "closed")
    late = note.model_copy(update={"key": "a:2", "body": "Too late"})
    assert not (await rig.env.run(rig.activities.add_internal_note, late)).written


async def test_the_replying_agent_is_read_once(rig: Rig) -> None:
    for _ in range(3):
        agent = await rig.env.run(rig.activities.describe_agent, AgentInput(user_id=AGENT_ID))
        assert (agent.email, agent.name) == ("alex@acme.example", "Alex Agent")
    assert rig.transport.seen == [f"GET /api/v2/users/{AGENT_ID}"]


# --- M16/M21: the timers' transitions ---------------------------------------------------------


def closing(ticket_id: int) -> TransitionInput:
    note = "Closed by smsdesk: solved for 24 hours with no new text."
    return TransitionInput(ticket_id=ticket_id, when=[SOLVED], to_status=CLOSED, note=note)


async def test_a_transition_moves_the_ticket_with_its_note(rig: Rig) -> None:
    ticket_id = await rig.open()
    rig.force(ticket_id, "solved")
    moved = await rig.env.run(rig.activities.transition_ticket, closing(ticket_id))
    assert moved.status is CLOSED and rig.ticket(ticket_id).status == "closed"
    last = rig.ticket(ticket_id).comments[-1]
    assert (last.body, last.public) == (closing(ticket_id).note, False)


@pytest.mark.parametrize("meanwhile", ["open", "closed"])
async def test_a_ticket_an_agent_moved_meanwhile_is_left_alone(rig: Rig, meanwhile: Status) -> None:
    ticket_id = await rig.open()
    rig.force(ticket_id, meanwhile)
    before = len(rig.transport.seen)
    answer = await rig.env.run(rig.activities.transition_ticket, closing(ticket_id))
    assert answer.status == TicketStatus(meanwhile)
    assert rig.transport.seen[before:] == [f"GET /api/v2/tickets/{ticket_id}"]
    assert len(rig.ticket(ticket_id).comments) == 1

"""Zendesk writes under ActivityEnvironment, against the sandbox Zendesk over ASGI: comments
read exactly as texted, and a retry finds its earlier write by the reference in the audit's
metadata (B13), or by the marker in the body for a write made before B13."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.zendesk import (
    CustomerCommentInput,
    CustomerText,
    InternalNoteInput,
    OpenTicketInput,
    ZendeskActivities,
)
from clients.zendesk import ZendeskClient
from sandbox.zendesk import create_zendesk_app

TOKEN = "test-token"
CONVERSATION = "sms-conversation-test"


class AnswerLosingTransport(httpx.AsyncBaseTransport):
    """The sandbox over ASGI; `lose_next` drops the answer of the next write after Zendesk
    acted on it, as a timeout or a worker killed mid-request would."""

    def __init__(self, app: FastAPI) -> None:
        self._inner = httpx.ASGITransport(app)
        self.lose_next = False
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.seen.append(f"{request.method} {request.url.path}")
        if self.lose_next and request.method in ("POST", "PUT"):
            self.lose_next = False
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@dataclasses.dataclass
class Rig:
    app: FastAPI
    transport: AnswerLosingTransport
    zendesk: ZendeskClient
    activities: ZendeskActivities
    requester_id: int

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        comments: list[dict[str, Any]] = [
            c.model_dump() for c in self.app.state.sandbox.data.tickets[ticket_id].comments
        ]
        return comments


@pytest.fixture
async def rig(engine: Engine) -> AsyncIterator[Rig]:
    app = create_zendesk_app(oauth_token=TOKEN)
    transport = AnswerLosingTransport(app)
    async with httpx.AsyncClient(transport=transport) as http:
        zendesk = ZendeskClient(
            http, base_url="https://acme.zendesk.com", authorization=f"Bearer {TOKEN}"
        )
        user = await zendesk.create_or_update_user(name="Ana", external_id="sms:+15551230001")
        yield Rig(app, transport, zendesk, ZendeskActivities(zendesk, engine), user.id)
    await app.state.sandbox.aclose()


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


def texts(*pairs: tuple[str, str]) -> list[CustomerText]:
    return [CustomerText(message_sid=sid, body=body) for sid, body in pairs]


async def open_ticket(rig: Rig, env: ActivityEnvironment, *pairs: tuple[str, str]) -> int:
    request = OpenTicketInput(
        conversation_id=CONVERSATION,
        sender_number="+15550100001",
        customer_phone="+15551230001",
        requester_id=rig.requester_id,
        texts=texts(*pairs),
        context_until=datetime(2026, 1, 1, tzinfo=UTC),
    )
    result = await env.run(rig.activities.open_ticket, request)
    return result.ticket_id


def comment(rig: Rig, ticket_id: int, *pairs: tuple[str, str]) -> CustomerCommentInput:
    return CustomerCommentInput(
        ticket_id=ticket_id, requester_id=rig.requester_id, texts=texts(*pairs), reopen=False
    )


async def test_comments_read_exactly_as_texted_and_carry_the_reference_in_metadata(
    rig: Rig,
) -> None:
    ticket_id = await open_ticket(rig, attempt(1), ("SM1", "Where is my order?"))
    await attempt(1).run(
        rig.activities.add_customer_comment,
        comment(rig, ticket_id, ("SM2", "It was due Monday"), ("SM3", "Order 1234")),
    )
    assert [c["body"] for c in rig.comments(ticket_id)] == [
        "Where is my order?",
        "It was due Monday\n\nOrder 1234",
    ]
    audits = await rig.zendesk.latest_audits(ticket_id)
    assert [a.custom for a in audits] == [{"smsdesk_ref": "SM2"}, {"smsdesk_ref": "SM1"}]


async def test_a_retry_after_the_comment_landed_does_not_write_it_twice(rig: Rig) -> None:
    ticket_id = await open_ticket(rig, attempt(1), ("SM1", "Where is my order?"))
    request = comment(rig, ticket_id, ("SM2", "Still waiting"))
    rig.transport.lose_next = True  # Zendesk wrote the comment; the activity never heard
    with pytest.raises(ApplicationError) as failure:
        await attempt(1).run(rig.activities.add_customer_comment, request)
    assert not failure.value.non_retryable
    result = await attempt(2).run(rig.activities.add_customer_comment, request)
    assert result.ticket is not None and result.ticket.ticket_id == ticket_id
    assert [c["body"] for c in rig.comments(ticket_id)] == ["Where is my order?", "Still waiting"]
    assert rig.transport.seen[-2:] == [
        f"GET /api/v2/tickets/{ticket_id}/audits",
        f"GET /api/v2/tickets/{ticket_id}",
    ]


async def test_a_retry_whose_write_never_landed_writes_it(rig: Rig) -> None:
    ticket_id = await open_ticket(rig, attempt(1), ("SM1", "Where is my order?"))
    await attempt(3).run(
        rig.activities.add_customer_comment, comment(rig, ticket_id, ("SM2", "Hello?"))
    )
    assert [c["body"] for c in rig.comments(ticket_id)] == ["Where is my order?", "Hello?"]


async def test_an_internal_note_has_no_marker_and_is_written_once_under_retries(
    rig: Rig,
) -> None:
    ticket_id = await open_ticket(rig, attempt(1), ("SM1", "Where is my order?"))
    note = InternalNoteInput(ticket_id=ticket_id, body="Reply not sent: opted out", key="n:1")
    rig.transport.lose_next = True
    with pytest.raises(ApplicationError):
        await attempt(1).run(rig.activities.add_internal_note, note)
    assert (await attempt(2).run(rig.activities.add_internal_note, note)).written
    notes = [c for c in rig.comments(ticket_id) if not c["public"]]
    assert [n["body"] for n in notes] == ["Reply not sent: opted out"]


async def test_a_comment_marked_by_a_version_before_b13_is_still_recognised(rig: Rig) -> None:
    ticket_id = await open_ticket(rig, attempt(1), ("SM1", "Where is my order?"))
    # Attempt 1 ran on a worker from before B13: the marker in the body, no metadata.
    old_body = {"body": "Still waiting\n\n[smsdesk ref SM2]", "public": True}
    await rig.zendesk.update_ticket(ticket_id, {"comment": old_body})
    await attempt(2).run(
        rig.activities.add_customer_comment, comment(rig, ticket_id, ("SM2", "Still waiting"))
    )
    assert len(rig.comments(ticket_id)) == 2


async def test_a_ticket_created_before_b13_is_found_under_its_idempotency_key(rig: Rig) -> None:
    # Attempt 1 (before B13) created the ticket with the marker in the body; its answer was
    # lost. The retry's body differs, so Zendesk refuses the key; the old body replays it.
    old = {
        "subject": "SMS from +15551230001: Where is my order?",
        "comment": {
            "body": "Where is my order?\n\n[smsdesk ref SM1]",
            "public": True,
            "author_id": rig.requester_id,
        },
        "requester_id": rig.requester_id,
        "tags": ["sms"],
        "external_id": CONVERSATION,
    }
    created = await rig.zendesk.create_ticket(old, idempotency_key=f"{CONVERSATION}:SM1")
    ticket_id = await open_ticket(rig, attempt(2), ("SM1", "Where is my order?"))
    assert ticket_id == created.ticket.id
    assert list(rig.app.state.sandbox.data.tickets) == [ticket_id]
    assert rig.transport.seen.count("POST /api/v2/tickets") == 3  # old, refused, replayed

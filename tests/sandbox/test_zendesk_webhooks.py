"""Zendesk sandbox: event-subscription webhooks, their signature and their delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.sandbox.conftest import ZENDESK_HOOK, ZENDESK_SECRET
from tests.sandbox.helpers import Receiver


async def customer_ticket(zendesk: httpx.AsyncClient) -> dict[str, Any]:
    user = await zendesk.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "Sam", "external_id": "sms:+15551230001", "phone": "+15551230001"}},
    )
    response = await zendesk.post(
        "/api/v2/tickets",
        json={
            "ticket": {
                "subject": "SMS",
                "tags": ["sms"],
                "requester_id": user.json()["user"]["id"],
                "comment": {
                    "body": "Hi, my parcel?",
                    "public": True,
                    "author_id": user.json()["user"]["id"],
                },
            }
        },
    )
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


async def test_webhooks_are_signed_with_the_documented_formula(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    await customer_ticket(zendesk)
    await zendesk_app.state.sandbox.deliveries_idle()
    assert receiver.received, "no webhook was delivered"
    for request in receiver.received:
        assert request.url == ZENDESK_HOOK
        timestamp = request.headers["x-zendesk-webhook-signature-timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", timestamp)
        digest = hmac.new(
            ZENDESK_SECRET.encode(), timestamp.encode() + request.body, hashlib.sha256
        ).digest()
        assert request.headers["x-zendesk-webhook-signature"] == base64.b64encode(digest).decode()


async def test_create_fires_created_then_comment_added(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    ticket = await customer_ticket(zendesk)
    await zendesk_app.state.sandbox.deliveries_idle()
    created, comment_added = receiver.events()
    assert created["type"] == "zen:event-type:ticket.created"
    assert comment_added["type"] == "zen:event-type:ticket.comment_added"
    assert created["id"] != comment_added["id"]
    for event in (created, comment_added):
        assert event["subject"] == f"zen:ticket:{ticket['id']}"
        assert event["zendesk_event_version"] == "2022-11-06"
        assert event["account_id"] == 1234567
    detail = comment_added["detail"]
    assert detail["id"] == str(ticket["id"])
    assert detail["requester_id"] == str(ticket["requester_id"])
    assert detail["status"] == "NEW"
    assert detail["tags"] == ["sms"]
    assert detail["brand_id"] == "360001"
    assert detail["assignee_id"] is None
    assert comment_added["event"]["comment"] == {
        "id": comment_added["event"]["comment"]["id"],
        "body": "Hi, my parcel?",
        "is_public": True,
        "author": {"id": str(ticket["requester_id"]), "is_staff": False, "name": "Sam"},
    }


async def test_agent_reply_and_solve_fire_comment_added_and_status_changed(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    ticket = await customer_ticket(zendesk)
    await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={
            "ticket": {
                "comment": {"body": "Tomorrow.", "public": True, "author_id": 2},
                "status": "solved",
            }
        },
    )
    await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={"ticket": {"comment": {"body": "note to self", "public": False, "author_id": 2}}},
    )
    await zendesk_app.state.sandbox.deliveries_idle()
    events = receiver.events()
    assert [e["type"].rsplit(".", 1)[1] for e in events] == [
        "created",
        "comment_added",
        "comment_added",
        "status_changed",
        "comment_added",
    ]
    reply, solved, note = events[2], events[3], events[4]
    assert reply["event"]["comment"]["author"] == {
        "id": "2",
        "is_staff": True,
        "name": "Alex Agent",
    }
    assert reply["detail"]["actor_id"] == "2"
    assert solved["event"] == {"current": "SOLVED", "previous": "NEW"}
    assert solved["detail"]["status"] == "SOLVED"
    assert note["event"]["comment"]["is_public"] is False


async def test_forced_close_is_announced_as_a_system_change(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    ticket = await customer_ticket(zendesk)
    await zendesk.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"status": "solved"}})
    forced = await zendesk.post(
        f"/_sandbox/tickets/{ticket['id']}/status", json={"status": "closed"}
    )
    assert forced.json()["ticket"]["status"] == "closed"
    await zendesk_app.state.sandbox.deliveries_idle()
    closed = receiver.events()[-1]
    assert closed["event"] == {"current": "CLOSED", "previous": "SOLVED"}
    assert closed["detail"]["actor_id"] == "-1"


async def test_failed_deliveries_are_retried_until_accepted(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    receiver.answers = [503, 429, 409]
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
    deliveries = (await zendesk.post("/_sandbox/flush")).json()["deliveries"]
    assert deliveries[0] | {"id": 0} == {
        "id": 0,
        "url": ZENDESK_HOOK,
        "label": "zen:event-type:ticket.created",
        "duplicate": False,
        "attempts": 4,
        "status": 200,
        "outcome": "delivered",
        "error": None,
        "error_code": None,
    }
    assert [d["outcome"] for d in deliveries] == ["delivered", "delivered"]
    assert len(receiver.received) == 5


async def test_zendesk_gives_up_after_three_retries(
    zendesk: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [500, 502, 503, 504, 500]
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
    first, second = (await zendesk.post("/_sandbox/flush")).json()["deliveries"]
    assert (first["outcome"], first["attempts"], first["status"]) == ("failed", 4, 504)
    assert (first["error"], first["error_code"]) == ("HTTP 504", None)
    assert (second["outcome"], second["attempts"]) == ("delivered", 2), "the next one is sent"
    assert len(receiver.received) == 6


async def test_a_refused_delivery_is_not_retried(
    zendesk: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [401]
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
    first = (await zendesk.post("/_sandbox/flush")).json()["deliveries"][0]
    assert (first["outcome"], first["attempts"], first["status"]) == ("rejected", 1, 401)


async def test_unreachable_receiver_fails_after_four_attempts() -> None:
    from sandbox.zendesk import create_zendesk_app

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_zendesk_app(
        webhook_url=ZENDESK_HOOK, webhook_transport=httpx.MockTransport(refuse)
    )
    state = app.state.sandbox
    state.update_config({"retry_delays": [0, 0, 0]})
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="https://acme.zendesk.com",
            headers={"Authorization": "Bearer sandbox-zendesk-oauth-token"},
        ) as client:
            await client.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
        await state.deliveries_idle()
        first = state.deliverer.records[0]
        assert (first.outcome, first.attempts, first.status) == ("failed", 4, None)
        assert "ConnectError" in str(first.error)
    finally:
        await state.aclose()


async def test_duplicates_and_disabled_webhooks(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, receiver: Receiver
) -> None:
    await zendesk.post("/_sandbox/config", json={"duplicate_probability": 1})
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "one"}}})
    await zendesk_app.state.sandbox.deliveries_idle()
    ids = [event["id"] for event in receiver.events()]
    assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]

    await zendesk.post(
        "/_sandbox/config", json={"duplicate_probability": 0, "webhooks_enabled": False}
    )
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "two"}}})
    deliveries = (await zendesk.post("/_sandbox/flush")).json()["deliveries"]
    assert [d["outcome"] for d in deliveries[-2:]] == ["disabled", "disabled"]
    assert len(receiver.received) == 4


async def test_no_webhook_url_means_no_webhooks(
    zendesk: httpx.AsyncClient, receiver: Receiver
) -> None:
    await zendesk.post("/_sandbox/config", json={"webhook_url": None})
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "quiet"}}})
    assert (await zendesk.post("/_sandbox/flush")).json()["deliveries"] == []
    assert receiver.received == []

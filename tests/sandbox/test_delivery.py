"""Webhook delivery by each service's own rules: Twilio's single connect retry, Zendesk's few
retries, and webhooks dropped on purpose (`drop_next`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.twilio import create_twilio_app
from sandbox.zendesk import create_zendesk_app
from tests.sandbox.conftest import OWNED_NUMBER, TWILIO_SID, TWILIO_TOKEN
from tests.sandbox.helpers import Receiver

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
CUSTOMER = "+15551230001"
CALLBACK = "https://product.test/webhooks/sms/status"
Handler = Callable[[httpx.Request], httpx.Response]


async def text_in(twilio: httpx.AsyncClient, body: str = "Hi") -> str:
    answer = await twilio.post(
        "/_sandbox/inbound", json={"from": CUSTOMER, "to": OWNED_NUMBER, "body": body}
    )
    assert answer.status_code == 200, answer.text
    sid: str = answer.json()["sid"]
    return sid


async def flushed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = (await client.post("/_sandbox/flush")).json()["deliveries"]
    return deliveries


@pytest.fixture
async def twilio_over() -> AsyncIterator[Callable[[Handler], httpx.AsyncClient]]:
    """A Twilio sandbox whose webhooks meet `handler` (an `httpx.MockTransport` handler)."""
    apps: list[FastAPI] = []
    clients: list[httpx.AsyncClient] = []

    def build(handler: Handler) -> httpx.AsyncClient:
        app = create_twilio_app(
            account_sid=TWILIO_SID,
            auth_token=TWILIO_TOKEN,
            inbound_webhook_url="https://product.test/webhooks/sms/inbound",
            webhook_transport=httpx.MockTransport(handler),
        )
        apps.append(app)
        clients.append(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app),
                base_url="https://api.twilio.com",
                auth=(TWILIO_SID, TWILIO_TOKEN),
            )
        )
        return clients[-1]

    yield build
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.sandbox.aclose()


# --- Twilio -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429, 404, 401])
async def test_twilio_never_resends_a_webhook_that_was_answered(
    twilio: httpx.AsyncClient, receiver: Receiver, status: int
) -> None:
    receiver.answers = [status]
    sid = await text_in(twilio)
    [delivery] = await flushed(twilio)
    assert delivery | {"id": 0, "url": ""} == {
        "id": 0,
        "url": "",
        "label": "inbound",
        "duplicate": False,
        "attempts": 1,
        "status": status,
        "outcome": "failed",
        "error": f"HTTP {status}",
        "error_code": 11200,
    }
    assert len(receiver.received) == 1
    # The text itself stays in the Messages API.
    [listed] = (await twilio.get(MESSAGES)).json()["messages"]
    assert (listed["sid"], listed["direction"], listed["status"]) == (sid, "inbound", "received")


async def test_twilio_status_callbacks_are_not_retried_either(
    twilio: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [503]
    sent = await twilio.post(
        MESSAGES,
        data={"To": CUSTOMER, "From": OWNED_NUMBER, "Body": "hi", "StatusCallback": CALLBACK},
    )
    assert sent.status_code == 201
    deliveries = await flushed(twilio)
    assert [(d["label"], d["outcome"], d["attempts"]) for d in deliveries] == [
        ("status:sent", "failed", 1),
        ("status:delivered", "delivered", 1),
    ]


async def test_twilio_does_not_retry_a_read_timeout(
    twilio_over: Callable[[Handler], httpx.AsyncClient],
) -> None:
    calls: list[httpx.Request] = []

    def too_slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    twilio = twilio_over(too_slow)
    await text_in(twilio)
    [delivery] = await flushed(twilio)
    assert (delivery["outcome"], delivery["attempts"], delivery["status"]) == ("failed", 1, None)
    assert delivery["error_code"] == 11203
    assert len(calls) == 1


async def test_twilio_gives_a_slow_receiver_one_budget_and_no_second_chance(
    twilio: httpx.AsyncClient, receiver: Receiver
) -> None:
    await twilio.post("/_sandbox/config", json={"timeout_seconds": 0.2})
    receiver.stalls = [5]
    await text_in(twilio)
    [delivery] = await flushed(twilio)
    assert (delivery["outcome"], delivery["attempts"], delivery["error_code"]) == (
        "failed",
        1,
        11203,
    )
    assert len(receiver.received) == 1


async def test_twilio_retries_once_when_the_connection_is_refused(
    twilio_over: Callable[[Handler], httpx.AsyncClient],
) -> None:
    calls: list[httpx.Request] = []

    def refuse_first(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    twilio = twilio_over(refuse_first)
    await text_in(twilio)
    [delivery] = await flushed(twilio)
    assert (delivery["outcome"], delivery["attempts"], delivery["error_code"]) == (
        "delivered",
        2,
        None,
    )
    assert len(calls) == 2


async def test_twilio_gives_up_after_the_second_refused_connection(
    twilio_over: Callable[[Handler], httpx.AsyncClient],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    twilio = twilio_over(refuse)
    await text_in(twilio)
    [delivery] = await flushed(twilio)
    assert (delivery["outcome"], delivery["attempts"], delivery["error_code"]) == (
        "failed",
        2,
        11205,
    )
    assert delivery["error"] == "ConnectError: connection refused"
    assert len((await twilio.get(MESSAGES)).json()["messages"]) == 1


# --- Zendesk ----------------------------------------------------------------------------------


async def test_zendesk_retries_timeouts_then_gives_up(
    zendesk: httpx.AsyncClient, receiver: Receiver
) -> None:
    await zendesk.post("/_sandbox/config", json={"timeout_seconds": 0.1})
    receiver.stalls = [5, 5, 5, 5]
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
    first, second = await flushed(zendesk)
    assert (first["outcome"], first["attempts"], first["error"]) == ("failed", 4, "TimeoutError")
    assert (second["outcome"], second["attempts"]) == ("delivered", 1)
    assert len(receiver.received) == 5


async def test_zendesk_retries_a_refused_connection() -> None:
    calls: list[httpx.Request] = []

    def refuse_twice(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    app = create_zendesk_app(
        webhook_url="https://product.test/webhooks/zendesk",
        webhook_transport=httpx.MockTransport(refuse_twice),
    )
    app.state.sandbox.update_config({"retry_delays": [0, 0, 0]})
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="https://acme.zendesk.com",
            headers={"Authorization": "Bearer sandbox-zendesk-oauth-token"},
        ) as zendesk:
            await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
            first, second = await flushed(zendesk)
    finally:
        await app.state.sandbox.aclose()
    assert (first["outcome"], first["attempts"], first["error"]) == ("delivered", 3, None)
    assert (second["outcome"], second["attempts"]) == ("delivered", 1)


# --- drop_next --------------------------------------------------------------------------------


async def test_zendesk_drop_next_drops_exactly_that_many(
    zendesk: httpx.AsyncClient, receiver: Receiver
) -> None:
    shown = await zendesk.post("/_sandbox/config", json={"drop_next": 3})
    assert shown.json()["drop_next"] == 3
    for body in ("one", "two"):  # each create sends ticket.created, then comment_added
        await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": body}}})
    deliveries = await flushed(zendesk)
    assert [(d["label"].rsplit(".", 1)[1], d["outcome"], d["attempts"]) for d in deliveries] == [
        ("created", "dropped", 0),
        ("comment_added", "dropped", 0),
        ("created", "dropped", 0),
        ("comment_added", "delivered", 1),
    ]
    assert [e["event"]["comment"]["body"] for e in receiver.events()] == ["two"]
    assert (await zendesk.get("/_sandbox/config")).json()["drop_next"] == 0


async def test_twilio_drop_next_loses_the_webhook_but_not_the_message(
    twilio: httpx.AsyncClient, receiver: Receiver
) -> None:
    await twilio.post("/_sandbox/config", json={"drop_next": 1, "duplicate_probability": 1})
    lost = await text_in(twilio, "lost")
    kept = await text_in(twilio, "kept")
    deliveries = await flushed(twilio)
    assert [(d["outcome"], d["duplicate"]) for d in deliveries] == [
        ("dropped", False),
        ("delivered", False),
        ("delivered", True),
    ]
    assert [r.form()["MessageSid"] for r in receiver.received] == [kept, kept]
    listed = (await twilio.get(MESSAGES)).json()["messages"]
    assert [m["sid"] for m in listed] == [kept, lost]


async def test_drop_next_is_validated(twilio: httpx.AsyncClient) -> None:
    assert (await twilio.post("/_sandbox/config", json={"drop_next": -1})).status_code == 400
    assert (
        await twilio.post("/_sandbox/config", json={"retry_delays": [0.1] * 6})
    ).status_code == 400
    assert (await twilio.get("/_sandbox/config")).json()["drop_next"] == 0

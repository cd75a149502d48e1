"""The sandboxes over real HTTP on loopback, as the dev stack runs them with uvicorn."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx

from sandbox.twilio import create_twilio_app
from sandbox.zendesk import create_zendesk_app
from tests.sandbox.helpers import Receiver, serving


async def test_zendesk_webhooks_reach_the_product_over_http(receiver: Receiver) -> None:
    async with serving(receiver.app) as product:
        app = create_zendesk_app(webhook_url=f"{product}/webhooks/zendesk", webhook_secret="s3cret")
        async with (
            serving(app) as zendesk_url,
            httpx.AsyncClient(
                base_url=zendesk_url,
                headers={"Authorization": "Bearer sandbox-zendesk-oauth-token"},
            ) as zendesk,
        ):
            created = await zendesk.post(
                "/api/v2/tickets.json", json={"ticket": {"comment": {"body": "over the wire"}}}
            )
            assert created.status_code == 201
            deliveries = (await zendesk.post("/_sandbox/flush")).json()["deliveries"]
    assert [d["outcome"] for d in deliveries] == ["delivered", "delivered"]
    assert [r.url for r in receiver.received] == [f"{product}/webhooks/zendesk"] * 2
    request = receiver.received[1]
    timestamp = request.headers["x-zendesk-webhook-signature-timestamp"]
    digest = hmac.new(b"s3cret", timestamp.encode() + request.body, hashlib.sha256).digest()
    assert request.headers["x-zendesk-webhook-signature"] == base64.b64encode(digest).decode()
    assert request.json()["event"]["comment"]["body"] == "over the wire"


async def test_twilio_inbound_reaches_the_product_over_http(receiver: Receiver) -> None:
    async with serving(receiver.app) as product:
        inbound_url = f"{product}/webhooks/sms/inbound"
        app = create_twilio_app(
            account_sid="AC" + "a" * 32, auth_token="tok", inbound_webhook_url=inbound_url
        )
        async with serving(app) as twilio_url, httpx.AsyncClient(base_url=twilio_url) as twilio:
            answer = await twilio.post(
                "/_sandbox/inbound",
                json={"from": "+15551230001", "to": "+15550000001", "body": "hi"},
            )
            await twilio.post("/_sandbox/flush")
    [request] = receiver.received
    form = request.form()
    assert form["MessageSid"] == answer.json()["sid"]
    payload = inbound_url + "".join(k + form[k] for k in sorted(form))
    expected = base64.b64encode(hmac.new(b"tok", payload.encode(), hashlib.sha1).digest()).decode()
    assert request.headers["x-twilio-signature"] == expected

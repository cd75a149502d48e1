"""Fixtures: each sandbox as a fresh in-process app, with a client and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from sandbox.klaviyo import create_klaviyo_app
from sandbox.twilio import create_twilio_app
from sandbox.zendesk import create_zendesk_app
from tests.sandbox.helpers import Receiver

ZENDESK_TOKEN = "test-oauth-token"
ZENDESK_SECRET = "test-webhook-secret"
ZENDESK_HOOK = "https://product.test/webhooks/zendesk"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "test-auth-token"
TWILIO_INBOUND = "https://product.test/webhooks/sms/inbound"
OWNED_NUMBER = "+15550000001"
KLAVIYO_KEY = "pk_test"
FAST_RETRIES = [0.01, 0.01, 0.01]
"""Zendesk's retry pauses, shortened (its own are 0.5, 1 and 2 s)."""


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def zendesk_app(receiver: Receiver) -> AsyncIterator[FastAPI]:
    app = create_zendesk_app(
        webhook_url=ZENDESK_HOOK,
        webhook_secret=ZENDESK_SECRET,
        oauth_token=ZENDESK_TOKEN,
        api_email="api@acme.example",
        api_token="test-api-token",
        webhook_transport=httpx.ASGITransport(receiver.app),
    )
    app.state.sandbox.update_config({"retry_delays": FAST_RETRIES})
    yield app
    await app.state.sandbox.aclose()


@pytest.fixture
async def zendesk(zendesk_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(zendesk_app),
        base_url="https://acme.zendesk.com",
        headers={"Authorization": f"Bearer {ZENDESK_TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
async def twilio_app(receiver: Receiver) -> AsyncIterator[FastAPI]:
    app = create_twilio_app(
        account_sid=TWILIO_SID,
        auth_token=TWILIO_TOKEN,
        inbound_webhook_url=TWILIO_INBOUND,
        owned_numbers=[OWNED_NUMBER],
        webhook_transport=httpx.ASGITransport(receiver.app),
    )
    yield app
    await app.state.sandbox.aclose()


@pytest.fixture
async def twilio(twilio_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(twilio_app),
        base_url="https://api.twilio.com",
        auth=(TWILIO_SID, TWILIO_TOKEN),
    ) as client:
        yield client


@pytest.fixture
def klaviyo_app() -> FastAPI:
    return create_klaviyo_app(
        api_key=KLAVIYO_KEY,
        seed_profiles=[
            {
                "phone_number": "+15551230001",
                "email": "sam@example.com",
                "first_name": "Sam",
                "sms_marketing": "SUBSCRIBED",
                "sms_transactional": "SUBSCRIBED",
            },
            {"phone_number": "+15551230002", "sms_marketing": "UNSUBSCRIBED"},
        ],
    )


@pytest.fixture
async def klaviyo(klaviyo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(klaviyo_app),
        base_url="https://a.klaviyo.com",
        headers={"Authorization": f"Klaviyo-API-Key {KLAVIYO_KEY}", "revision": "2026-07-15"},
    ) as client:
        yield client

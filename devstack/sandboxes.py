"""The sandbox services wired to the product: credentials, ports and seed data for `--dev`,
the starter and the end-to-end tests (one definition for all three).

Cheap to import (no pydantic, no web apps): `starter.py tickets` reads the ports from here."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import credentials

if TYPE_CHECKING:
    from fastapi import FastAPI

    from core.settings import Settings

ZENDESK_TOKEN = credentials.ZENDESK_OAUTH_TOKEN
ZENDESK_WEBHOOK_SECRET = credentials.ZENDESK_WEBHOOK_SECRET
TWILIO_SID = credentials.TWILIO_ACCOUNT_SID
TWILIO_TOKEN = credentials.TWILIO_AUTH_TOKEN
KLAVIYO_KEY = credentials.KLAVIYO_API_KEY
#: Signs agents' media URLs (B11) in the dev stack.
MEDIA_URL_SECRET = "dev-media-url-secret"
#: Signs `/webhooks/outbound` in the dev stack (the brand's own tools sign with their secret).
OUTBOUND_SECRET = "sandbox-outbound-webhook-secret"
SMS_BRAND_ID = 360002
ACCOUNT_NUMBERS = ["+15550100001", "+15550100002"]
AGENT_ID = 2

#: Customers the Klaviyo sandbox knows. The first two may be texted; the third never agreed.
DEMO_PROFILES: list[dict[str, Any]] = [
    {
        "phone_number": "+15551230001",
        "email": "dana@example.com",
        "first_name": "Dana",
        "sms_marketing": "SUBSCRIBED",
    },
    {
        "phone_number": "+15551230002",
        "email": "lee@example.com",
        "first_name": "Lee",
        "sms_transactional": "SUBSCRIBED",
    },
    {"phone_number": "+15551230003", "first_name": "Sam", "sms_marketing": "NEVER_SUBSCRIBED"},
]


@dataclass(frozen=True)
class SandboxPorts:
    zendesk: int = 8101
    twilio: int = 8102
    klaviyo: int = 8103

    @property
    def zendesk_url(self) -> str:
        return f"http://127.0.0.1:{self.zendesk}"

    @property
    def twilio_url(self) -> str:
        return f"http://127.0.0.1:{self.twilio}"

    @property
    def klaviyo_url(self) -> str:
        return f"http://127.0.0.1:{self.klaviyo}"


def with_sandboxes(settings: Settings, ports: SandboxPorts) -> Settings:
    """`settings` pointed at the sandboxes for every service it has no real credentials for."""
    from pydantic import SecretStr

    update: dict[str, Any] = {}
    if settings.outbound_webhook_secret is None:
        update["outbound_webhook_secret"] = SecretStr(OUTBOUND_SECRET)
    if settings.media_url_secret is None:
        update["media_url_secret"] = SecretStr(MEDIA_URL_SECRET)
    if not settings.zendesk_configured:
        update |= {
            "zendesk_url": ports.zendesk_url,
            "zendesk_oauth_token": SecretStr(ZENDESK_TOKEN),
            "zendesk_webhook_secret": SecretStr(ZENDESK_WEBHOOK_SECRET),
            "zendesk_sms_brand_id": settings.zendesk_sms_brand_id or SMS_BRAND_ID,
        }
    if settings.twilio_account_sid is None:
        update |= {
            "twilio_base_url": ports.twilio_url,
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "sms_numbers": settings.sms_numbers or ACCOUNT_NUMBERS,
        }
    if settings.klaviyo_api_key is None:
        update |= {
            "klaviyo_base_url": ports.klaviyo_url,
            "klaviyo_api_key": SecretStr(KLAVIYO_KEY),
        }
    return settings.model_copy(update=update)


@dataclass
class Sandboxes:
    zendesk: FastAPI
    twilio: FastAPI
    klaviyo: FastAPI


def build_sandboxes(settings: Settings, state_dir: Path | None) -> Sandboxes:
    """The three sandbox apps, delivering their webhooks to the product's public URL."""
    # Imported here: the commands read this module's settings and constants, and should not
    # pay for three web apps each time they start.
    from sandbox.launch import Launch

    base = settings.public_base_url.rstrip("/")
    apps = Launch(
        zendesk_webhook_url=f"{base}/webhooks/zendesk",
        twilio_inbound_url=f"{base}/webhooks/sms/inbound",
        twilio_numbers=settings.sms_numbers,
        state_dir=state_dir,
        klaviyo_profiles=DEMO_PROFILES,
    ).apps()
    return Sandboxes(zendesk=apps["zendesk"], twilio=apps["twilio"], klaviyo=apps["klaviyo"])


@contextlib.asynccontextmanager
async def serve_sandboxes(sandboxes: Sandboxes, ports: SandboxPorts) -> AsyncIterator[Sandboxes]:
    from devstack.processes import serve_app

    async with (
        serve_app(sandboxes.zendesk, ports.zendesk),
        serve_app(sandboxes.twilio, ports.twilio),
        serve_app(sandboxes.klaviyo, ports.klaviyo),
    ):
        yield sandboxes

"""What every command shares: the effective settings and a Temporal client.

With no service configured at all (no Zendesk, SMS provider or Klaviyo setting in the
environment or `.env`), the settings point at the embedded dev stack's sandboxes, silently:
that is `./scripts/dev`. Once any service is configured, a service left unconfigured still
gets its sandbox (most commands need only one or two services), but never silently: the
command says on stderr which services are the dev stack's sandboxes and which settings would
make them real, so a half-filled `.env` is not quietly completed with sandbox URLs and secrets.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from core.settings import Settings, get_settings
from devstack.sandboxes import SandboxPorts, with_sandboxes

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from temporalio.client import Client

#: The services the sandboxes stand in for: the settings that point a service somewhere real,
#: and the ones to set to configure it.
SERVICES: dict[str, tuple[frozenset[str], str]] = {
    "Zendesk": (
        frozenset(
            {
                "zendesk_url",
                "zendesk_oauth_client_id",
                "zendesk_oauth_client_secret",
                "zendesk_oauth_refresh_token",
                "zendesk_oauth_token",
                "zendesk_email",
                "zendesk_api_token",
            }
        ),
        "ZENDESK_URL with ZENDESK_OAUTH_CLIENT_ID and ZENDESK_OAUTH_CLIENT_SECRET "
        "(or python starter.py setup)",
    ),
    "the SMS provider": (
        frozenset({"twilio_base_url", "twilio_account_sid", "twilio_auth_token"}),
        "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    ),
    "Klaviyo": (frozenset({"klaviyo_base_url", "klaviyo_api_key"}), "KLAVIYO_API_KEY"),
}


def effective_settings() -> Settings:
    return sandboxed(get_settings(), SandboxPorts())


def sandboxed(settings: Settings, ports: SandboxPorts) -> Settings:
    """`settings` with the dev stack's sandboxes for the services it does not configure;
    when it configures some service, the others are named on stderr."""
    if not any(fields & settings.model_fields_set for fields, _ in SERVICES.values()):
        return with_sandboxes(settings, ports)  # the embedded dev stack: nothing real anywhere
    stand_ins = {  # as `with_sandboxes` decides what to fill in
        "Zendesk": (not settings.zendesk_configured, ports.zendesk),
        "the SMS provider": (settings.twilio_account_sid is None, ports.twilio),
        "Klaviyo": (settings.klaviyo_api_key is None, ports.klaviyo),
    }
    for service, (missing, port) in stand_ins.items():
        if missing:
            print(
                f"note: {service} is not configured, so its dev-stack sandbox at "
                f"http://127.0.0.1:{port} is used, with the sandbox's secrets "
                f"(set {SERVICES[service][1]})",
                file=sys.stderr,
            )
    if settings.outbound_webhook_secret is None:
        print(
            "note: OUTBOUND_WEBHOOK_SECRET is not set: outbound texts are signed with the dev "
            "stack's secret",
            file=sys.stderr,
        )
    return with_sandboxes(settings, ports)


def database(settings: Settings) -> Engine:
    """The product database, once it is sure to be at the schema this code expects."""
    import migrations  # SQLAlchemy and Alembic: only for the commands that use the database
    from infra.db import make_engine

    engine = make_engine(settings.database_url)
    migrations.require_head(engine)
    return engine


async def temporal_client(settings: Settings) -> Client:
    from infra import temporal  # the one client builder: the same data converter as the worker

    return await temporal.connect(settings)

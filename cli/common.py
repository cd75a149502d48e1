"""What every command shares: the effective settings, a Temporal client and Zendesk's client.

With no service configured at all (no Zendesk, SMS provider or Klaviyo setting in the
environment or `.env`), the settings point at the embedded dev stack's sandboxes, silently:
that is `./scripts/dev`. Once any service is configured, a service left unconfigured still
gets its sandbox (most commands need only one or two services), but never silently: the
command says on stderr which services are the dev stack's sandboxes and which settings would
make them real, so a half-filled `.env` is not quietly completed with sandbox URLs and secrets.

Cheap to import: `Settings` (pydantic and pydantic-settings, ~0.15 s) is built only by the
commands that read it; `tickets` and `texts` with nothing configured need only the sandboxes'
addresses (`listing_settings`).
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from devstack.sandboxes import SandboxPorts, with_sandboxes
from infra.env_file import read_env_file

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine
    from temporalio.client import Client

    from clients.zendesk import ZendeskClient
    from core.settings import Settings

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


class SandboxAddresses(Protocol):
    """What `tickets` and `texts` read of the settings: `Settings` has both."""

    @property
    def zendesk_url(self) -> str: ...

    @property
    def twilio_base_url(self) -> str: ...


@dataclass(frozen=True)
class DevStackAddresses:
    """The dev stack's sandboxes, as `sandboxed` sets them when nothing is configured."""

    zendesk_url: str
    twilio_base_url: str


def effective_settings() -> Settings:
    from core.settings import get_settings

    return sandboxed(get_settings(), SandboxPorts())


def any_service_configured(environ: Mapping[str, str], env_file: Path) -> bool:
    """Whether the environment or `env_file` sets a service's setting, read as `Settings`
    reads them (names in any case, an empty value is unset) but without building it."""
    given = {name.lower() for name, value in environ.items() if value}
    given |= {name.lower() for name in read_env_file(env_file)}
    return any(fields & given for fields, _ in SERVICES.values())


def listing_settings() -> SandboxAddresses:
    """The settings of `tickets` and `texts`: with nothing configured, the dev stack's
    addresses alone, without importing pydantic for two URLs; else the effective settings
    (which name the services that are sandboxes)."""
    if any_service_configured(os.environ, Path(".env")):
        return effective_settings()
    ports = SandboxPorts()
    return DevStackAddresses(zendesk_url=ports.zendesk_url, twilio_base_url=ports.twilio_url)


def tls_for(url: str) -> ssl.SSLContext | bool:
    """httpx's `verify=` for a client that talks to `url`'s host alone.

    https keeps httpx's default (certifi's bundle). Plain http never shakes hands, and loading
    that bundle (~0.1 s, much of a quick command's time) would be for nothing: the client gets
    a context that trusts no certificate instead, so a request that did reach https would fail
    rather than go unverified.
    """
    if not url.lower().startswith("http://"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates, trusts none


def sandboxed(settings: Settings, ports: SandboxPorts) -> Settings:
    """`settings` with the dev stack's sandboxes for the services it does not configure;
    when it configures some service, the others are named on stderr."""
    if not any(fields & settings.model_fields_set for fields, _ in SERVICES.values()):
        return with_sandboxes(settings, ports)  # the embedded dev stack: nothing real anywhere
    stand_ins = {  # as `with_sandboxes` decides what to fill in
        "Zendesk": (not settings.zendesk_configured, ports.zendesk_url),
        "the SMS provider": (settings.twilio_account_sid is None, ports.twilio_url),
        "Klaviyo": (settings.klaviyo_api_key is None, ports.klaviyo_url),
    }
    for service, (missing, url) in stand_ins.items():
        if missing:
            print(
                f"note: {service} is not configured, so its dev-stack sandbox at "
                f"{url} is used, with the sandbox's secrets "
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


#: A command's request waits this long for its turn in a busy budget, then gives up (BudgetWait).
COMMAND_LEAD_SECONDS = 300.0


@asynccontextmanager
async def zendesk_session(
    settings: Settings, http: httpx.AsyncClient
) -> AsyncIterator[ZendeskClient]:
    """The product's Zendesk client for a command, on the budgets the workers keep in the
    product database (B14): what a command sends counts as theirs, and waits as theirs would.

    Raises:
        ValueError: the settings hold no usable Zendesk credentials.
    """
    from service.zendesk import zendesk_client

    engine = database(settings)
    try:
        yield zendesk_client(settings, http, engine, lead=COMMAND_LEAD_SECONDS)
    finally:
        engine.dispose()


async def temporal_client(settings: Settings) -> Client:
    from infra import temporal  # the one client builder: the same data converter as the worker

    return await temporal.connect(settings)

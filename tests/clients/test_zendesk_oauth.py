"""The OAuth token provider against the sandbox's real `/oauth/tokens`: tokens cached, renewed
before they expire and once after a 401, fetched once under concurrency, refresh tokens
rotated and kept; and the running product using it when an OAuth client is configured."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from clients.errors import Unauthorized
from clients.zendesk import StaticAuthorization, ZendeskClient
from clients.zendesk_oauth import (
    FileRefreshTokenStore,
    InvalidClient,
    InvalidGrant,
    ZendeskTokenProvider,
    zendesk_authorization,
)
from core.settings import Settings
from sandbox.zendesk import create_zendesk_app
from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, RefreshGrant
from tests.helpers.stack import eventually, running_stack

BASE = "https://acme.zendesk.com"
TOKENS = "POST /oauth/tokens"


class Clock:
    """One clock for the sandbox and the provider, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(clock: Clock) -> AsyncIterator[FastAPI]:
    app = create_zendesk_app()
    app.state.sandbox.clock = clock
    yield app
    await app.state.sandbox.aclose()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
        yield client


def provider(
    http: httpx.AsyncClient, clock: Clock, *, secret: str = OAUTH_CLIENT_SECRET, **extra: object
) -> ZendeskTokenProvider:
    return ZendeskTokenProvider(
        http,
        base_url=BASE,
        client_id=OAUTH_CLIENT_ID,
        client_secret=secret,
        scope="read write",
        clock=clock,
        **extra,  # type: ignore[arg-type]
    )


def token_requests(app: FastAPI) -> int:
    count: int = app.state.sandbox.requests[TOKENS]
    return count


async def test_a_token_is_cached_and_renewed_before_it_expires(
    app: FastAPI, http: httpx.AsyncClient, clock: Clock
) -> None:
    tokens = provider(http, clock)
    zendesk = ZendeskClient(http, base_url=BASE, authorization=tokens)
    assert (await zendesk.me()).role == "admin"
    first = await tokens.header()
    await zendesk.list_brands()
    assert token_requests(app) == 1

    clock.now += 1800 - 61  # just outside the renewal margin: the same token
    assert await tokens.header() == first and token_requests(app) == 1
    clock.now += 2  # inside it, while the sandbox would still accept the old one
    assert (await zendesk.me()).id == 1
    assert token_requests(app) == 2 and await tokens.header() != first


async def test_concurrent_callers_share_one_token_fetch(
    app: FastAPI, http: httpx.AsyncClient, clock: Clock
) -> None:
    tokens = provider(http, clock)
    headers = await asyncio.gather(*(tokens.header() for _ in range(20)))
    assert len(set(headers)) == 1 and token_requests(app) == 1


async def test_a_401_renews_the_token_once_then_gives_up(
    app: FastAPI, http: httpx.AsyncClient, clock: Clock
) -> None:
    tokens = provider(http, clock)
    zendesk = ZendeskClient(http, base_url=BASE, authorization=tokens)
    await zendesk.me()
    app.state.oauth.access.clear()  # revoked on Zendesk's side before its expiry
    assert (await zendesk.me()).id == 1
    assert token_requests(app) == 2

    # Renewals racing on the same stale token end in one fetch.
    stale = await tokens.header()
    app.state.oauth.access.clear()
    renewed = await asyncio.gather(*(tokens.renew(stale) for _ in range(5)))
    assert len(set(renewed)) == 1 and token_requests(app) == 3


class AlwaysRefused:
    """Credentials Zendesk keeps refusing, however often they are renewed."""

    def __init__(self) -> None:
        self.renewals = 0

    async def header(self) -> str:
        return "Bearer revoked"

    async def renew(self, stale: str) -> str | None:
        self.renewals += 1
        return f"Bearer revoked-{self.renewals}"


async def test_a_request_is_retried_after_one_renewal_only(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    refused = AlwaysRefused()
    zendesk = ZendeskClient(http, base_url=BASE, authorization=refused)
    with pytest.raises(Unauthorized):
        await zendesk.me()
    assert refused.renewals == 1
    assert app.state.sandbox.requests["GET /api/v2/users/me"] == 2


async def test_a_static_header_is_not_retried(http: httpx.AsyncClient, app: FastAPI) -> None:
    zendesk = ZendeskClient(http, base_url=BASE, authorization=StaticAuthorization("Bearer x"))
    with pytest.raises(Unauthorized):
        await zendesk.me()
    assert app.state.sandbox.requests["GET /api/v2/users/me"] == 1


async def test_refusals_are_typed(http: httpx.AsyncClient, clock: Clock) -> None:
    with pytest.raises(InvalidClient) as refused:
        await provider(http, clock, secret="wrong").header()
    assert refused.value.error == "invalid_client" and refused.value.status_code == 401
    with pytest.raises(InvalidGrant):
        await provider(http, clock, refresh_token="never-issued").header()


async def test_rotated_refresh_tokens_are_kept_across_restarts(
    app: FastAPI, http: httpx.AsyncClient, clock: Clock, tmp_path: Path
) -> None:
    configured = app.state.oauth.mint_refresh_token(RefreshGrant()).token
    path = tmp_path / "oauth.json"

    first = provider(
        http,
        clock,
        refresh_token=configured,
        store=FileRefreshTokenStore(path, configured=configured),
    )
    await first.header()
    rotated = first.refresh_token
    assert rotated != configured and configured not in app.state.oauth.refresh
    assert json.loads(path.read_text())["refresh_token"] == rotated
    assert path.stat().st_mode & 0o777 == 0o600

    # A restart: `.env` still names the used-up token; the file has its successor.
    second = provider(
        http,
        clock,
        refresh_token=configured,
        store=FileRefreshTokenStore(path, configured=configured),
    )
    await second.header()
    assert second.refresh_token not in (configured, rotated)

    # Set-up wrote a new token to `.env`: the file descends from another one and is ignored.
    fresh = app.state.oauth.mint_refresh_token(RefreshGrant()).token
    assert FileRefreshTokenStore(path, configured=fresh).load() is None


def test_the_product_prefers_an_oauth_client(tmp_path: Path) -> None:
    both = Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_oauth_token=SecretStr("fixed"),
        zendesk_oauth_client_id="id",
        zendesk_oauth_client_secret=SecretStr("secret"),
    )
    assert isinstance(zendesk_authorization(both, httpx.AsyncClient()), ZendeskTokenProvider)
    fixed = both.model_copy(
        update={"zendesk_oauth_client_id": None, "zendesk_oauth_client_secret": None}
    )
    assert isinstance(zendesk_authorization(fixed, httpx.AsyncClient()), StaticAuthorization)
    with pytest.raises(ValueError, match="go together"):
        Settings(_env_file=None, zendesk_oauth_client_id="id")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="needs ZENDESK_OAUTH_CLIENT_ID"):
        Settings(_env_file=None, zendesk_oauth_refresh_token=SecretStr("r"))  # type: ignore[call-arg]


async def test_the_worker_creates_tickets_with_client_credential_tokens(
    temporal_env: WorkflowEnvironment, engine: Engine, tmp_path: Path
) -> None:
    async with running_stack(temporal_env.client, engine) as stack:
        # First with the static token, so the worker restarts from a running state.
        await stack.text(await stack.new_customer(), "Hello")
        await eventually(stack.tickets)
        await stack.stop_worker()
        stack.settings = stack.settings.model_copy(
            update={
                "zendesk_oauth_token": None,
                "zendesk_oauth_client_id": OAUTH_CLIENT_ID,
                "zendesk_oauth_client_secret": SecretStr(OAUTH_CLIENT_SECRET),
                "zendesk_oauth_token_file": str(tmp_path / "oauth.json"),
            }
        )
        await stack.start_worker()
        customer = await stack.new_customer()
        assert (await stack.text(customer, "Hello over OAuth")).status_code == 200
        tickets = await eventually(lambda: stack.tickets_of(customer))
        assert tickets[0]["description"].startswith("Hello over OAuth")
        issued = stack.sandboxes.zendesk.state.oauth.access
        assert [token.client for token in issued.values()] == [OAUTH_CLIENT_ID]

"""`starter.py setup`'s credential check (M1) against the Zendesk sandbox on loopback: the user
and role on success, and for each way credentials fail, the sentence that says what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse

from devstack.processes import free_port, reserve_port, serve_app
from infra.env_file import read_env_file
from sandbox.zendesk_model import UserInput
from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthClient
from tests.helpers.zendesk_setup import (
    API_EMAIL,
    API_TOKEN,
    Zendesk,
    client_flags,
    setup,
)


async def test_success_names_the_user_and_role(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await setup(tmp_path / ".env", *client_flags(zendesk)) == 0
    out = capsys.readouterr().out
    assert "smsdesk API <api@acme.example> (role admin)" in out
    assert f"OAuth client {OAUTH_CLIENT_ID} (client credentials); scopes read write" in out


async def test_api_token_works_with_a_retirement_warning(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    code = await setup(
        env, "--zendesk-url", zendesk.url, "--email", API_EMAIL, "--api-token", API_TOKEN
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "2027-04-30" in captured.err and "role admin" in captured.out
    assert read_env_file(env)["ZENDESK_API_TOKEN"] == API_TOKEN
    assert API_TOKEN not in captured.out  # secrets are shown masked


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (
            ["--oauth-client-id", OAUTH_CLIENT_ID, "--oauth-client-secret", "nope"],
            "client id or secret",
        ),
        (["--oauth-token", "nope"], "refused the OAuth access token (401)"),
        (["--email", API_EMAIL, "--api-token", "nope"], "email/API token (401)"),
        (
            [
                "--oauth-client-id",
                OAUTH_CLIENT_ID,
                "--oauth-client-secret",
                OAUTH_CLIENT_SECRET,
                "--oauth-refresh-token",
                "used-up",
            ],
            "refused the refresh token (invalid_grant)",
        ),
    ],
)
async def test_refused_credentials_say_which_and_why(
    zendesk: Zendesk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    problem: str,
) -> None:
    env = tmp_path / ".env"
    assert await setup(env, "--zendesk-url", zendesk.url, *flags) == 1
    err = capsys.readouterr().err
    assert problem in err
    if "--api-token" in flags:
        assert "2027-04-30" in err
    assert not env.exists()


async def _token(
    zendesk: Zendesk,
    scope: str,
    client_id: str = OAUTH_CLIENT_ID,
    secret: str = OAUTH_CLIENT_SECRET,
) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            zendesk.url + "/oauth/tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": scope,
            },
        )
    token: str = response.json()["access_token"]
    return token


async def _client_for(zendesk: Zendesk, user_id: int, identifier: str) -> None:
    zendesk.oauth.register(
        OAuthClient(identifier=identifier, secret="s3cret-" + identifier, user_id=user_id)
    )


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ("tickets:read tickets:write", "403 Forbidden: the credentials lack a scope"),
        ("read", "do not cover tickets:write, users:write"),
    ],
)
async def test_missing_scopes_are_named(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str], scope: str, problem: str
) -> None:
    token = await _token(zendesk, scope)
    assert await setup(tmp_path / ".env", "--zendesk-url", zendesk.url, "--oauth-token", token) == 1
    assert problem in capsys.readouterr().err


async def test_provisioning_needs_webhook_scopes_too(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = await _token(zendesk, "read tickets:write users:write")
    flags = ["--zendesk-url", zendesk.url, "--oauth-token", token]
    assert await setup(tmp_path / ".env", *flags) == 0
    assert "reconciler" not in capsys.readouterr().err  # an admin: nothing to warn about
    assert (
        await setup(tmp_path / ".env", *flags, "--provision", "--public-url", "https://x.example")
        == 1
    )
    assert "do not cover webhooks:write, views:write, automations:write" in capsys.readouterr().err


async def test_an_end_user_cannot_work_and_an_agent_cannot_provision(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = zendesk.app.state.sandbox
    end_user, _ = state.create_or_update_user(UserInput(name="Pat", email="pat@example.com"))
    await _client_for(zendesk, end_user.id, "pats-app")
    flags = [
        "--zendesk-url",
        zendesk.url,
        "--oauth-client-id",
        "pats-app",
        "--oauth-client-secret",
        "s3cret-pats-app",
    ]
    assert await setup(tmp_path / ".env", *flags) == 1
    assert "Pat (role end-user): an end-user cannot answer tickets" in capsys.readouterr().err

    await _client_for(zendesk, 2, "alex-app")
    flags = [
        "--zendesk-url",
        zendesk.url,
        "--oauth-client-id",
        "alex-app",
        "--oauth-client-secret",
        "s3cret-alex-app",
    ]
    assert await setup(tmp_path / ".env", *flags) == 0
    # An agent can run smsdesk, but the reconciler's export is for admins: set-up says so.
    assert "the reconciler reads Zendesk's incremental ticket export" in capsys.readouterr().err
    assert (
        await setup(tmp_path / ".env", *flags, "--provision", "--public-url", "https://x.example")
        == 1
    )
    assert "Alex Agent is an agent: provisioning" in capsys.readouterr().err


def _redirecting_app() -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def closed(path: str) -> RedirectResponse:
        return RedirectResponse("https://www.zendesk.com/account-not-found", status_code=301)

    return app


def _missing_account_app() -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def missing(path: str) -> JSONResponse:
        return JSONResponse({"error": "RecordNotFound"}, status_code=404)

    return app


@pytest.mark.parametrize(
    ("fake", "problem"),
    [
        (_redirecting_app, "redirects to https://www.zendesk.com/account-not-found"),
        (_missing_account_app, "answered 404: no Zendesk account has this subdomain"),
    ],
)
async def test_a_wrong_subdomain_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake: Any, problem: str
) -> None:
    async with serve_app(fake(), reserve_port()) as url:
        assert await setup(tmp_path / ".env", "--zendesk-url", url, "--oauth-token", "t") == 1
    assert problem in capsys.readouterr().err


async def test_network_failures_are_told_apart(
    zendesk: Zendesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    closed = f"http://127.0.0.1:{free_port()}"
    assert await setup(env, "--zendesk-url", closed, "--oauth-token", "t") == 1
    assert "connection refused" in capsys.readouterr().err
    assert await setup(env, "--zendesk-url", "https://acme.invalid", "--oauth-token", "t") == 1
    assert "cannot resolve acme.invalid (DNS)" in capsys.readouterr().err
    plain_http = zendesk.url.replace("http://", "https://")
    assert await setup(env, "--zendesk-url", plain_http, "--oauth-token", "t") == 1
    assert "TLS handshake with 127.0.0.1 failed" in capsys.readouterr().err

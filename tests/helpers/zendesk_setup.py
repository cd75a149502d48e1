"""The Zendesk sandbox served on loopback for `starter.py setup` tests, and a way to run the
command as a user would (non-interactive unless told otherwise)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

import starter
from core.settings import Settings
from devstack.processes import reserve_port, serve_app
from sandbox.zendesk import create_zendesk_app
from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET

STATIC_TOKEN = "static-sandbox-token"
API_EMAIL = "api@acme.example"
API_TOKEN = "sandbox-api-token"
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


@dataclass
class Zendesk:
    url: str
    app: FastAPI

    @property
    def admin(self) -> Any:
        return self.app.state.admin

    @property
    def oauth(self) -> Any:
        return self.app.state.oauth


@asynccontextmanager
async def zendesk_sandbox() -> AsyncIterator[Zendesk]:
    app = create_zendesk_app(oauth_token=STATIC_TOKEN, api_email=API_EMAIL, api_token=API_TOKEN)
    async with serve_app(app, reserve_port()) as url:
        yield Zendesk(url, app)
    await app.state.sandbox.aclose()


async def setup(env: Path, *argv: str) -> int:
    args = starter.parser().parse_args(
        ["setup", "--non-interactive", "--env-file", str(env), *argv]
    )
    code: int = await args.run(SETTINGS, args)
    return code


def client_flags(zendesk: Zendesk) -> list[str]:
    return [
        "--zendesk-url",
        zendesk.url,
        "--oauth-client-id",
        OAUTH_CLIENT_ID,
        "--oauth-client-secret",
        OAUTH_CLIENT_SECRET,
    ]


def env_settings(env: Path) -> Settings:
    return Settings(_env_file=env)  # type: ignore[call-arg]

"""OAuth access tokens for the Zendesk API, from `POST {ZENDESK_URL}/oauth/tokens`.

Zendesk is retiring API tokens (none issued after 2026-10-27, all disabled on 2027-04-30) and
new OAuth clients issue access tokens that expire (30 minutes by default). The provider here
fetches a token with the client-credentials or the refresh-token grant, caches it, renews it a
little before it expires and once more after a 401, and lets one coroutine renew at a time.

Refresh tokens rotate: each successful refresh returns a new one and deletes the old one, so
the current refresh token is kept in a `RefreshTokenStore` (a small file by default); after a
restart the process goes on with the rotated token, not the dead one from `.env`.

ApiError (clients.errors)
└── RejectedRequest
    └── OAuthError        the token endpoint refused; `error` is Zendesk's OAuth error code
        ├── InvalidClient wrong client id or secret (401 `invalid_client`)
        └── InvalidGrant  refresh token expired, revoked or already used (400 `invalid_grant`)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from clients.errors import RejectedRequest, TransportFailure, raise_for_status
from clients.zendesk import Authorization, StaticAuthorization, auth_header
from core.settings import Settings

SERVICE = "zendesk-oauth"
TOKEN_PATH = "/oauth/tokens"
#: Renew this long before the expiry Zendesk announced, so no request carries a dying token.
RENEW_BEFORE_SECONDS = 60.0


class OAuthError(RejectedRequest):
    """The token endpoint refused to issue a token."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(service, response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        self.error = str(body.get("error") or "")
        self.description = str(body.get("error_description") or "")


class InvalidClient(OAuthError):
    pass


class InvalidGrant(OAuthError):
    pass


class TokenGrant(BaseModel):
    """What the token endpoint answers."""

    model_config = ConfigDict(extra="ignore")
    access_token: str
    token_type: str = "bearer"
    expires_in: int | None = None
    refresh_token: str | None = None
    scope: str | None = None


class RefreshTokenStore(Protocol):
    def load(self) -> str | None: ...

    def save(self, refresh_token: str) -> None: ...


class MemoryRefreshTokenStore:
    """Keeps the rotated refresh token for this process only (set-up, tests)."""

    def __init__(self) -> None:
        self.value: str | None = None

    def load(self) -> str | None:
        return self.value

    def save(self, refresh_token: str) -> None:
        self.value = refresh_token


class FileRefreshTokenStore:
    """The current refresh token in a JSON file, tied to the configured one.

    The file remembers a hash of the refresh token it descends from: when set-up writes a new
    `ZENDESK_OAUTH_REFRESH_TOKEN`, the file no longer matches and the configured token is used.
    """

    def __init__(self, path: Path, *, configured: str) -> None:
        self._path = path
        self._seed = hashlib.sha256(configured.encode()).hexdigest()

    def load(self) -> str | None:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("seed_sha256") != self._seed:
            return None
        token = data.get("refresh_token")
        return token if isinstance(token, str) and token else None

    def save(self, refresh_token: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".partial")
        # Created owner-only: the file holds a credential.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as stream:
            json.dump({"seed_sha256": self._seed, "refresh_token": refresh_token}, stream)
        os.replace(partial, self._path)


class ZendeskTokenProvider:
    """Access tokens of one OAuth client, shared by every request of the process."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        refresh_token: str | None = None,
        store: RefreshTokenStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._store = store or MemoryRefreshTokenStore()
        self._refresh_token = self._store.load() or refresh_token
        self._clock = clock
        self._lock = asyncio.Lock()
        self._access: str | None = None
        self._expires_at: float | None = None
        self.last_grant: TokenGrant | None = None

    @property
    def refresh_token(self) -> str | None:
        """The refresh token to use next (rotated after every refresh)."""
        return self._refresh_token

    async def header(self) -> str:
        async with self._lock:
            if self._access is None or self._expiring():
                await self._fetch()
            return self._bearer()

    async def renew(self, stale: str) -> str | None:
        async with self._lock:
            # Another request may have renewed while this one waited for the lock.
            if self._access is None or self._bearer() == stale:
                await self._fetch()
            return self._bearer()

    def _bearer(self) -> str:
        return f"Bearer {self._access}"

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    async def _fetch(self) -> None:
        body = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": self._scope,
        }
        if self._refresh_token:
            body |= {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        else:
            body["grant_type"] = "client_credentials"
        started = self._clock()
        try:
            response = await self._http.post(
                self._url, json=body, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise TransportFailure(SERVICE, f"POST {TOKEN_PATH}: {exc!r}") from exc
        _raise_refusal(response)
        raise_for_status(SERVICE, response)
        grant = TokenGrant.model_validate(response.json())
        self._access, self.last_grant = grant.access_token, grant
        self._expires_at = None
        if grant.expires_in is not None:
            lifetime = grant.expires_in - min(RENEW_BEFORE_SECONDS, grant.expires_in / 2)
            self._expires_at = started + lifetime
        if grant.refresh_token and grant.refresh_token != self._refresh_token:
            self._refresh_token = grant.refresh_token
            self._store.save(grant.refresh_token)


def _raise_refusal(response: httpx.Response) -> None:
    """Raise the OAuth error of a 4xx that retrying cannot fix (429, 408, 409 can be)."""
    code = response.status_code
    if code < 400 or code >= 500 or code in (408, 409, 429):
        return
    refused = OAuthError(SERVICE, response)
    if refused.error == "invalid_client" or (code == 401 and not refused.error):
        raise InvalidClient(SERVICE, response)
    if refused.error == "invalid_grant":
        raise InvalidGrant(SERVICE, response)
    raise refused


def zendesk_authorization(
    settings: Settings, http: httpx.AsyncClient, *, store: RefreshTokenStore | None = None
) -> Authorization:
    """The product's Zendesk credentials: an OAuth client first (tokens that expire are
    renewed), else a fixed OAuth token, else the legacy email/API token pair.

    Raises:
        ValueError: when no Zendesk credentials are set at all.
    """
    if settings.zendesk_oauth_client_id and settings.zendesk_oauth_client_secret:
        refresh = settings.zendesk_oauth_refresh_token
        if store is None and refresh is not None:
            store = FileRefreshTokenStore(
                Path(settings.zendesk_oauth_token_file), configured=refresh.get_secret_value()
            )
        return ZendeskTokenProvider(
            http,
            base_url=settings.zendesk_url,
            client_id=settings.zendesk_oauth_client_id,
            client_secret=settings.zendesk_oauth_client_secret.get_secret_value(),
            scope=settings.zendesk_oauth_scope,
            refresh_token=refresh.get_secret_value() if refresh else None,
            store=store,
        )
    token, api_token = settings.zendesk_oauth_token, settings.zendesk_api_token
    return StaticAuthorization(
        auth_header(
            oauth_token=token.get_secret_value() if token else None,
            email=settings.zendesk_email,
            api_token=api_token.get_secret_value() if api_token else None,
        )
    )

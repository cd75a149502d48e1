"""Zendesk's OAuth in the sandbox: grant-type tokens that expire, rotating refresh tokens,
scopes, and the user each token acts as.

- `POST /oauth/tokens` (grant_type `client_credentials` or `refresh_token`): a wrong client
  secret is 401 `invalid_client`; a refresh token works once (the refresh deletes it and the
  access token issued with it); access tokens expire after the client's lifetime.
- Bearer tokens it issued are admitted beside the sandbox's static token: expired ones get 401,
  and a request outside the token's scopes gets 403 (`read` = GET, `write` = the rest, or
  `<resource>:read|write` for `/api/v2/<resource>/...`).
- `GET /api/v2/oauth/tokens/current` shows a token's scopes; `/users/me` is the token's user.
- `/_sandbox/oauth/clients` and `/_sandbox/oauth/refresh_tokens` stand in for Admin Center and
  the browser consent page (the authorization-code flow needs a person).

The static token and the legacy API token act as the API user with every scope.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from sandbox.middleware import CONTROL_PREFIX
from sandbox.zendesk_model import API_USER_ID, not_found
from sandbox.zendesk_render import iso

TOKEN_PATH = "/oauth/tokens"
OAUTH_CLIENT_ID = "smsdesk-sandbox"
OAUTH_CLIENT_SECRET = "sandbox-zendesk-oauth-client-secret"
#: Zendesk's default access-token lifetime for clients made after 2026-04-30.
DEFAULT_TOKEN_SECONDS = 1800
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def _new_token() -> str:
    # Zendesk's tokens are 64 hex characters. A URL-safe token can begin with "-", which a
    # command line (`setup --oauth-token …`) would take for an option.
    return secrets.token_hex(32)


class OAuthClient(BaseModel):
    """An OAuth client as Admin Center registers it (`identifier` is the API's client_id)."""

    identifier: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    #: The user its client-credentials tokens act as.
    user_id: int = API_USER_ID
    access_token_seconds: int | None = Field(default=DEFAULT_TOKEN_SECONDS, ge=1)
    id: int = 0


class Issued(BaseModel):
    id: int
    token: str
    client: str
    user_id: int
    scopes: list[str]
    created_at: float
    expires_at: float | None = None
    #: For an access token: the refresh token issued with it (deleted together on refresh).
    refresh_token: str | None = None


class RefreshGrant(BaseModel):
    """What `/_sandbox/oauth/refresh_tokens` mints: the end of an authorization-code flow."""

    client_id: str = OAUTH_CLIENT_ID
    scope: str = "read write"
    user_id: int | None = None


class OAuthRefusal(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.response = JSONResponse(
            {"error": error, "error_description": description}, status_code=status
        )


def allows(scopes: list[str], method: str, path: str) -> bool:
    """Whether a token with `scopes` may make this request (Zendesk's scope rules)."""
    access = "read" if method.upper() in _READ_METHODS else "write"
    parts = path.split("/")
    resource = parts[3] if len(parts) > 3 and path.startswith("/api/v2/") else ""
    return access in scopes or f"{resource}:{access}" in scopes


class OAuthRegistry:
    """OAuth clients and the tokens issued to them (memory only: tokens die with the process)."""

    def __init__(self, clock: Callable[[], float], user_exists: Callable[[int], bool]) -> None:
        self._clock = clock
        self._user_exists = user_exists
        self.clients: dict[str, OAuthClient] = {}
        self.access: dict[str, Issued] = {}
        self.refresh: dict[str, Issued] = {}
        self._next_id = 1
        self.register(OAuthClient(identifier=OAUTH_CLIENT_ID, secret=OAUTH_CLIENT_SECRET))

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def register(self, client: OAuthClient) -> OAuthClient:
        if not self._user_exists(client.user_id):
            raise ValueError(f"user {client.user_id} does not exist")
        client = client.model_copy(update={"id": self._new_id()})
        self.clients[client.identifier] = client
        return client

    def mint_refresh_token(self, grant: RefreshGrant) -> Issued:
        client = self.clients.get(grant.client_id)
        if client is None:
            raise ValueError(f"no OAuth client {grant.client_id!r}")
        user_id = grant.user_id if grant.user_id is not None else client.user_id
        if not self._user_exists(user_id):
            raise ValueError(f"user {user_id} does not exist")
        return self._issue_refresh(client, user_id, grant.scope.split())

    def _issue_refresh(self, client: OAuthClient, user_id: int, scopes: list[str]) -> Issued:
        refresh = self._mint(client, user_id, scopes, REFRESH_TOKEN_SECONDS)
        self.refresh[refresh.token] = refresh
        return refresh

    def _mint(
        self,
        client: OAuthClient,
        user_id: int,
        scopes: list[str],
        lifetime: int | None,
        refresh_token: str | None = None,
    ) -> Issued:
        """A new token of `client` for `user_id`, valid `lifetime` seconds (None: forever)."""
        now = self._clock()
        return Issued(
            id=self._new_id(),
            token=_new_token(),
            client=client.identifier,
            user_id=user_id,
            scopes=scopes,
            created_at=now,
            expires_at=None if lifetime is None else now + lifetime,
            refresh_token=refresh_token,
        )

    def grant(self, body: dict[str, Any]) -> dict[str, Any]:
        """Answer `POST /oauth/tokens`.

        Raises:
            OAuthRefusal: with Zendesk's OAuth error (invalid_client, invalid_grant, ...).
        """
        client = self.clients.get(str(body.get("client_id") or ""))
        given = str(body.get("client_secret") or "")
        if client is None or not secrets.compare_digest(given.encode(), client.secret.encode()):
            raise OAuthRefusal(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication "
                "included, or unsupported authentication method.",
            )
        scope = body.get("scope")
        grant_type = body.get("grant_type")
        if grant_type == "client_credentials":
            if not isinstance(scope, str) or not scope.split():
                raise OAuthRefusal(400, "invalid_scope", "The requested scope is invalid.")
            return self._answer(client, client.user_id, scope.split(), body, refresh=None)
        if grant_type == "refresh_token":
            old = self.refresh.get(str(body.get("refresh_token") or ""))
            if old is None or old.client != client.identifier or self._expired(old):
                raise OAuthRefusal(
                    400,
                    "invalid_grant",
                    "The provided authorization grant is invalid, expired, revoked, does not "
                    "match the redirection URI used in the authorization request, or was "
                    "issued to another client.",
                )
            # Rotation: the refresh token and the access tokens issued with it stop working.
            del self.refresh[old.token]
            for token in [t for t, a in self.access.items() if a.refresh_token == old.token]:
                del self.access[token]
            scopes = scope.split() if isinstance(scope, str) and scope.split() else old.scopes
            refresh = self._issue_refresh(client, old.user_id, scopes)
            return self._answer(client, old.user_id, scopes, body, refresh=refresh)
        raise OAuthRefusal(
            400,
            "unsupported_grant_type",
            f"grant_type {grant_type!r} is not supported by the sandbox (client_credentials, "
            "refresh_token)",
        )

    def _answer(
        self,
        client: OAuthClient,
        user_id: int,
        scopes: list[str],
        body: dict[str, Any],
        *,
        refresh: Issued | None,
    ) -> dict[str, Any]:
        lifetime = client.access_token_seconds
        if "expires_in" in body:
            lifetime = body["expires_in"]
            if type(lifetime) is not int or not 300 < lifetime < 172800:
                raise OAuthRefusal(
                    400, "invalid_request", "expires_in must be between 300 and 172800 seconds"
                )
        access = self._mint(
            client, user_id, scopes, lifetime, refresh_token=refresh.token if refresh else None
        )
        self.access[access.token] = access
        answer: dict[str, Any] = {
            "access_token": access.token,
            "token_type": "bearer",
            "scope": " ".join(scopes),
        }
        if lifetime is not None:
            answer["expires_in"] = lifetime
        if refresh is not None:
            answer["refresh_token"] = refresh.token
            answer["refresh_token_expires_in"] = REFRESH_TOKEN_SECONDS
        return answer

    def _expired(self, issued: Issued) -> bool:
        return issued.expires_at is not None and self._clock() >= issued.expires_at

    def bearer(self, request: Request) -> Issued | None:
        """The issued access token the request carries (expired or not), if any."""
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.access.get(credential)

    def refusal(self, request: Request) -> Response | None:
        """Why a request with an issued token is turned away, or None to admit it; requests
        without one are the caller's business."""
        if request.url.path == TOKEN_PATH:
            return None  # the client secret in the body authenticates it
        issued = self.bearer(request)
        if issued is None:
            return None
        if self._expired(issued):
            return JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, "
                    "malformed or invalid for other reasons.",
                },
                status_code=401,
            )
        if request.url.path == "/api/v2/oauth/tokens/current":
            return None  # any token may describe itself
        if not allows(issued.scopes, request.method, request.url.path):
            return JSONResponse(
                {
                    "error": "Forbidden",
                    "description": "You do not have access to this page. Please contact the "
                    "account owner of this help desk for further help.",
                },
                status_code=403,
            )
        return None

    def user_id(self, request: Request) -> int:
        """The user the request acts as: the token's user, else the API user."""
        issued = self.bearer(request)
        return issued.user_id if issued else API_USER_ID


def _token_json(issued: Issued, registry: OAuthRegistry, base_url: str) -> dict[str, Any]:
    client = registry.clients.get(issued.client)
    shown: dict[str, Any] = {
        "id": issued.id,
        "token": issued.token[:10],
        "user_id": issued.user_id,
        "client_id": client.id if client else 0,
        "scopes": issued.scopes,
        "created_at": iso(issued.created_at),
        "url": f"{base_url}/api/v2/oauth/tokens/{issued.id}.json",
    }
    if issued.expires_at is not None:
        shown["expires_at"] = iso(issued.expires_at)
    return shown


def add_oauth_routes(app: FastAPI, registry: OAuthRegistry, base_url: str) -> None:
    """The token endpoint and `tokens/current` (on the app itself, where the gate counts them)."""

    @app.post(TOKEN_PATH, status_code=201)
    async def create_token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return OAuthRefusal(400, "invalid_request", "The body must be a JSON object").response
        try:
            return JSONResponse(registry.grant(body), status_code=201)
        except OAuthRefusal as refused:
            return refused.response

    @app.get("/api/v2/oauth/tokens/current")
    async def current_token(request: Request) -> dict[str, Any]:
        issued = registry.bearer(request)
        if issued is None:
            if request.headers.get("authorization", "").lower().startswith("bearer "):
                # The sandbox's static token: a long-lived token with every scope.
                static = Issued(
                    id=1,
                    token=request.headers["authorization"].split(" ", 1)[1],
                    client=OAUTH_CLIENT_ID,
                    user_id=API_USER_ID,
                    scopes=["read", "write"],
                    created_at=0,
                )
                return {"token": _token_json(static, registry, base_url)}
            raise not_found()
        return {"token": _token_json(issued, registry, base_url)}


def oauth_control_router(registry: OAuthRegistry) -> APIRouter:
    router = APIRouter(prefix=f"{CONTROL_PREFIX}/oauth", tags=["sandbox"])

    @router.post("/clients")
    async def register_client(client: OAuthClient) -> JSONResponse:
        try:
            registered = registry.register(client)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse({"client": registered.model_dump(exclude={"secret"})})

    @router.post("/refresh_tokens")
    async def mint_refresh_token(grant: RefreshGrant) -> JSONResponse:
        try:
            issued = registry.mint_refresh_token(grant)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse({"refresh_token": issued.token, "scope": " ".join(issued.scopes)})

    @router.get("/tokens")
    async def tokens() -> dict[str, Any]:
        return {
            "access_tokens": [a.model_dump() for a in registry.access.values()],
            "refresh_tokens": [r.model_dump() for r in registry.refresh.values()],
        }

    return router

"""Set-up's credential check (M1): one call to `GET /api/v2/users/me`, and when it fails, the
one sentence that says what is wrong and what to do about it.

Each failure is a `CheckFailed` whose message is meant for the person running set-up; the
cause is found by exception type (and, for network errors, the OS error underneath), never by
parsing a message.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from clients.errors import ApiError, HttpStatusError, NotFound, TransportFailure, Unauthorized
from clients.zendesk import Authorization, StaticAuthorization, ZendeskUser, auth_header
from clients.zendesk_admin import NotZendeskApi, ZendeskAdminClient
from clients.zendesk_oauth import (
    InvalidClient,
    InvalidGrant,
    MemoryRefreshTokenStore,
    OAuthError,
    ZendeskTokenProvider,
)

CredentialKind = Literal["oauth-client", "oauth-token", "api-token"]
API_TOKEN_WARNING = (
    "API tokens are legacy: Zendesk issues no new ones after 2026-10-27 and disables all of "
    "them on 2027-04-30. Switch to an OAuth client (--oauth-client-id/--oauth-client-secret)."
)
RECONCILER_NEEDS_ADMIN = (
    "{name} is an agent: the reconciler reads Zendesk's incremental ticket export, which only "
    "admins may read, so agent replies and ticket events whose webhook Zendesk drops are not "
    "repaired (texts still are). Use an admin's credentials for full repair."
)
#: What smsdesk does with Zendesk, as (resource, access) pairs a token's scopes must cover.
NEEDED_SCOPES = [
    ("tickets", "read"),
    ("tickets", "write"),
    ("users", "read"),
    ("users", "write"),
    ("brands", "read"),
    ("groups", "read"),
    ("ticket_fields", "read"),
]
PROVISION_SCOPES = [
    ("webhooks", "read"),
    ("webhooks", "write"),
    ("views", "read"),
    ("views", "write"),
    ("automations", "read"),
    ("automations", "write"),
]


class CheckFailed(Exception):
    """The credentials do not work; the message says why and what to do."""


@dataclass(frozen=True)
class Credentials:
    zendesk_url: str
    kind: CredentialKind
    oauth_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    scope: str = "read write"
    email: str | None = None
    api_token: SecretStr | None = None

    def describe(self) -> str:
        if self.kind == "oauth-client":
            grant = "refresh token" if self.refresh_token else "client credentials"
            return f"OAuth client {self.client_id} ({grant})"
        if self.kind == "oauth-token":
            return "an OAuth access token"
        return f"the API token of {self.email} (legacy)"


@dataclass
class Checked:
    user: ZendeskUser
    client: ZendeskAdminClient
    #: The token's scopes; None when they cannot be known (API token, or Zendesk would not say).
    scopes: list[str] | None
    #: The refresh token to record: Zendesk rotated the one given (it works once).
    rotated_refresh_token: str | None = None


def authorization(http: httpx.AsyncClient, creds: Credentials) -> Authorization:
    if creds.kind == "oauth-client":
        assert creds.client_id and creds.client_secret
        return ZendeskTokenProvider(
            http,
            base_url=creds.zendesk_url,
            client_id=creds.client_id,
            client_secret=creds.client_secret.get_secret_value(),
            scope=creds.scope,
            refresh_token=creds.refresh_token.get_secret_value() if creds.refresh_token else None,
            # Set-up records the rotated token in .env itself; no file store here.
            store=MemoryRefreshTokenStore(),
        )
    token, api_token = creds.oauth_token, creds.api_token
    return StaticAuthorization(
        auth_header(
            oauth_token=token.get_secret_value() if token else None,
            email=creds.email,
            api_token=api_token.get_secret_value() if api_token else None,
        )
    )


def covers(scopes: list[str], resource: str, access: str) -> bool:
    """Zendesk's rule: `read`/`write` cover every resource, `tickets:read` only tickets."""
    return access in scopes or f"{resource}:{access}" in scopes


async def check_credentials(
    http: httpx.AsyncClient, creds: Credentials, *, need_admin: bool
) -> Checked:
    """Sign in and make sure the user and the token's scopes can run smsdesk.

    Raises:
        CheckFailed: with the reason, in words that say what to fix.
    """
    auth = authorization(http, creds)
    client = ZendeskAdminClient(http, base_url=creds.zendesk_url, authorization=auth)
    try:
        user = await client.whoami()
        scopes = await _scopes(client, auth, creds)
    except ApiError as exc:
        raise CheckFailed(explain(exc, creds)) from exc
    if not user.id or user.role not in ("agent", "admin"):
        raise CheckFailed(
            f"{creds.zendesk_url} signs these credentials in as {user.name or 'an anonymous user'}"
            f" (role {user.role or 'end-user'}): an end-user cannot answer tickets. Use the "
            "credentials of an agent or an admin."
        )
    if need_admin and user.role != "admin":
        raise CheckFailed(
            f"{user.name} is an agent: provisioning the webhook and the automation needs an "
            "admin. Run set-up without --provision, or with an admin's credentials."
        )
    if scopes is not None:
        needed = NEEDED_SCOPES + (PROVISION_SCOPES if need_admin else [])
        missing = [f"{r}:{a}" for r, a in needed if not covers(scopes, r, a)]
        if missing:
            raise CheckFailed(
                f"the token's scopes ({' '.join(scopes) or 'none'}) do not cover "
                f"{', '.join(missing)}: issue it with the scope 'read write'."
            )
    rotated = None
    if isinstance(auth, ZendeskTokenProvider) and creds.refresh_token is not None:
        rotated = auth.refresh_token
    return Checked(user=user, client=client, scopes=scopes, rotated_refresh_token=rotated)


async def _scopes(
    client: ZendeskAdminClient, auth: Authorization, creds: Credentials
) -> list[str] | None:
    if isinstance(auth, ZendeskTokenProvider):
        grant = auth.last_grant
        return grant.scope.split() if grant and grant.scope is not None else None
    if creds.kind != "oauth-token":
        return None  # API tokens carry no scopes: they can do what their user can
    try:
        return await client.token_scopes()
    except Unauthorized:
        return None  # Zendesk would not describe the token; /users/me worked, go on


def explain(exc: ApiError, creds: Credentials) -> str:
    """What a failed sign-in means, for the person running set-up."""
    url = creds.zendesk_url
    host = urlsplit(url).hostname or url
    if isinstance(exc, TransportFailure):
        return _network(exc, url, host)
    if isinstance(exc, NotZendeskApi):
        where = f"redirects to {exc.location}" if exc.location else "does not answer as Zendesk"
        return (
            f"{url} {where}: no Zendesk account answers there (wrong subdomain, or a closed "
            "account). ZENDESK_URL must be https://<subdomain>.zendesk.com."
        )
    if isinstance(exc, InvalidClient):
        return (
            f"Zendesk refused the OAuth client id or secret ({exc.error or 401}): copy both from "
            "Admin Center > Apps and integrations > APIs > OAuth clients."
        )
    if isinstance(exc, InvalidGrant):
        return (
            "Zendesk refused the refresh token (invalid_grant): it expired, was revoked, or was "
            "already used; Zendesk rotates refresh tokens, so each works once (a running worker "
            "may have rotated it already). Authorize again for a new one."
        )
    if isinstance(exc, OAuthError) and exc.status_code != 404:
        return f"Zendesk would not issue a token: {exc.error} {exc.description}".strip()
    if isinstance(exc, HttpStatusError) and exc.status_code == 401:
        if creds.kind == "api-token":
            return (
                f"Zendesk refused the email/API token (401): check that {creds.email} is the "
                "agent's sign-in email and that the token is active in Admin Center > Apps and "
                f"integrations > APIs > Zendesk API. {API_TOKEN_WARNING}"
            )
        return (
            "Zendesk refused the OAuth access token (401): it is wrong, expired or revoked. "
            "Issue a new one, or use an OAuth client so smsdesk renews tokens itself."
        )
    if isinstance(exc, HttpStatusError) and exc.status_code == 403:
        return (
            "Zendesk answered 403 Forbidden: the credentials lack a scope (smsdesk needs "
            "'read write', or at least tickets:read tickets:write users:read users:write) or "
            "API access is turned off for them in Admin Center."
        )
    if isinstance(exc, NotFound | OAuthError):
        return (
            f"{url} answered 404: no Zendesk account has this subdomain. ZENDESK_URL must be "
            "https://<subdomain>.zendesk.com."
        )
    return f"Zendesk answered an error: {exc}"


def _network(exc: TransportFailure, url: str, host: str) -> str:
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in causes:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"cannot resolve {host} (DNS): check the subdomain in ZENDESK_URL ({url})."
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        return (
            f"the TLS handshake with {host} failed ({tls.reason or tls}): ZENDESK_URL must be an "
            "https address with a valid certificate (behind a TLS-inspecting proxy, point "
            "SSL_CERT_FILE at its CA)."
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"nothing answers at {url} (connection refused): check ZENDESK_URL."
    if any(isinstance(c, httpx.TimeoutException) for c in causes):
        return f"{host} did not answer in time: check the network, a proxy or a firewall."
    return f"cannot reach {url}: {causes[-1]!r}"

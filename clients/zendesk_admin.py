"""The Zendesk calls of set-up: who the credentials belong to, the token's scopes, brands,
and the webhook, view and automation smsdesk provisions. Typed and retry-free like
`clients.zendesk`, whose client this extends.

ApiError (clients.errors)
└── NotZendeskApi   the URL answered, but not as the Zendesk API does (a redirect, an HTML page):
                    the subdomain is wrong or the account is closed
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from clients.errors import ApiError, NotFound
from clients.zendesk import SERVICE, ZendeskClient, ZendeskUser


class NotZendeskApi(ApiError):
    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(SERVICE, message)
        self.location = location


class ZendeskBrand(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str
    subdomain: str | None = None
    active: bool = True
    default: bool = False


class ZendeskWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    endpoint: str
    http_method: str
    request_format: str
    status: str
    subscriptions: list[str] = Field(default_factory=list)


class ZendeskAdminClient(ZendeskClient):
    """`ZendeskClient` plus the account-level calls set-up makes."""

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON object a call answers; anything else means this is not the Zendesk API."""
        response = await self._call(method, path, **kwargs)
        if response.is_redirect:
            location = response.headers.get("location")
            raise NotZendeskApi(f"{path} redirects to {location}", location=location)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("content-type", "no content type")
            raise NotZendeskApi(f"{path} answered {response.status_code} with {kind}, not JSON")
        return body

    async def whoami(self) -> ZendeskUser:
        """The user the credentials act as (`GET /api/v2/users/me`).

        Zendesk answers anonymous callers with an end-user whose id is null, so an id of 0
        stands for "nobody".
        """
        user = (await self._json("GET", "/api/v2/users/me")).get("user")
        if not isinstance(user, dict):
            raise NotZendeskApi("/api/v2/users/me answered without a user")
        return ZendeskUser.model_validate({**user, "id": user.get("id") or 0})

    async def token_scopes(self) -> list[str] | None:
        """The scopes of the OAuth token in use; None when the credentials are no OAuth token."""
        try:
            body = await self._json("GET", "/api/v2/oauth/tokens/current")
        except NotFound:
            return None
        scopes = body.get("token", {}).get("scopes")
        return [str(s) for s in scopes] if isinstance(scopes, list) else None

    async def brands(self) -> list[ZendeskBrand]:
        return [
            ZendeskBrand.model_validate(b) async for b in self._pages("/api/v2/brands", "brands")
        ]

    # Webhooks (Zendesk's Webhooks API: cursor pages, 204 on update)

    async def find_webhooks(self, name: str) -> list[ZendeskWebhook]:
        """Webhooks whose name contains `name` (Zendesk's filter is case-insensitive)."""
        found: list[ZendeskWebhook] = []
        params: dict[str, Any] | None = {"filter[name_contains]": name}
        path = "/api/v2/webhooks"
        while True:
            body = await self._json("GET", path, params=params)
            found += [ZendeskWebhook.model_validate(w) for w in body.get("webhooks", [])]
            after = (body.get("links") or {}).get("next")
            if not (body.get("meta") or {}).get("has_more") or not after:
                return found
            path, params = _relative(after), None

    async def create_webhook(self, webhook: dict[str, Any]) -> ZendeskWebhook:
        body = await self._json("POST", "/api/v2/webhooks", json={"webhook": webhook})
        return ZendeskWebhook.model_validate(body["webhook"])

    async def update_webhook(self, webhook_id: str, webhook: dict[str, Any]) -> None:
        await self._call("PUT", f"/api/v2/webhooks/{webhook_id}", json={"webhook": webhook})

    async def webhook_signing_secret(self, webhook_id: str) -> str:
        body = await self._json("GET", f"/api/v2/webhooks/{webhook_id}/signing_secret")
        return str(body["signing_secret"]["secret"])

    # Views and automations (Support API, offset pages)

    async def views(self) -> list[dict[str, Any]]:
        return [view async for view in self._pages("/api/v2/views", "views")]

    async def create_view(self, view: dict[str, Any]) -> dict[str, Any]:
        return dict((await self._json("POST", "/api/v2/views", json={"view": view}))["view"])

    async def update_view(self, view_id: int, view: dict[str, Any]) -> dict[str, Any]:
        body = await self._json("PUT", f"/api/v2/views/{view_id}", json={"view": view})
        return dict(body["view"])

    async def automations(self) -> list[dict[str, Any]]:
        return [a async for a in self._pages("/api/v2/automations", "automations")]

    async def create_automation(self, automation: dict[str, Any]) -> dict[str, Any]:
        body = await self._json("POST", "/api/v2/automations", json={"automation": automation})
        return dict(body["automation"])

    async def update_automation(
        self, automation_id: int, automation: dict[str, Any]
    ) -> dict[str, Any]:
        body = await self._json(
            "PUT", f"/api/v2/automations/{automation_id}", json={"automation": automation}
        )
        return dict(body["automation"])

    async def _pages(self, path: str, key: str) -> AsyncIterator[dict[str, Any]]:
        """Every item of a Support API list, following `next_page`."""
        next_path: str | None = path
        while next_path is not None:
            body = await self._json("GET", next_path)
            for item in body.get(key, []):
                yield item
            next_page = body.get("next_page")
            next_path = _relative(next_page) if next_page else None


def _relative(url: str) -> str:
    """`https://acme.zendesk.com/api/v2/views.json?page=2` as `/api/v2/views.json?page=2`."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")

"""Zendesk Support API client (the parts smsdesk uses), typed and retry-free.

Retries belong to Temporal: this client sends each request once and reports failures as the
typed errors of `clients.errors`. Every request goes through its `Budgets` (B14): the only
door to Zendesk is also where its rate limits are kept (`clients.zendesk_budget`).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from clients.errors import (
    HttpStatusError,
    RateLimited,
    TransportFailure,
    Unauthorized,
    parse_retry_after,
    raise_for_status,
    send,
)
from clients.zendesk_budget import Budget, Budgets, Slot, Unmetered, budgets_for
from clients.zendesk_events import TicketEventPage

SERVICE = "zendesk"

#: Slots reserved together for the requests the current task is about to send, in order
#: (`ZendeskClient.read_then_update`): a context variable, as activities share one client.
_paid_ahead: ContextVar[list[Slot] | None] = ContextVar("zendesk_paid_ahead", default=None)


class ZendeskUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str | None = None
    email: str | None = None
    role: str | None = None
    external_id: str | None = None
    phone: str | None = None


class ZendeskAttachment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    file_name: str
    content_url: str
    content_type: str
    size: int


class ZendeskComment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    author_id: int | None = None
    body: str = ""
    public: bool = True
    attachments: list[ZendeskAttachment] = Field(default_factory=list)


class ZendeskAudit(BaseModel):
    """One create or update of a ticket: its `metadata.custom` is what the write's own
    write-only `ticket.metadata` gave; `events` hold its comment (with `body`) and changes."""

    model_config = ConfigDict(extra="ignore")
    id: int
    metadata: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def custom(self) -> dict[str, Any]:
        custom = self.metadata.get("custom")
        return custom if isinstance(custom, dict) else {}

    @property
    def comment_bodies(self) -> list[str]:
        return [str(e.get("body") or "") for e in self.events if e.get("type") == "Comment"]


class ZendeskTicket(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    status: str
    subject: str | None = None
    description: str | None = None
    requester_id: int | None = None
    brand_id: int | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)


class ZendeskTicketDetails(ZendeskTicket):
    """Everything a ticket metric reports, beyond what the conversation loop needs."""

    assignee_id: int | None = None
    group_id: int | None = None
    priority: str | None = None
    type: str | None = None
    via: dict[str, Any] = Field(default_factory=dict)
    custom_fields: list[dict[str, Any]] = Field(default_factory=list)


class ZendeskGroup(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str


class ZendeskTicketField(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    title: str


class UpdatedTicket(BaseModel):
    ticket: ZendeskTicket
    #: The update's audit: its `events` hold the new comment (with its id), when there is one.
    audit: ZendeskAudit | None = None

    @property
    def comment_id(self) -> int | None:
        events = self.audit.events if self.audit else []
        ids = [e["id"] for e in events if e.get("type") == "Comment" and e.get("id") is not None]
        return int(ids[0]) if ids else None


class TicketExportPage(BaseModel):
    """One page of the cursor-based incremental ticket export; `metric_sets` is there when
    asked for with `include=metric_sets` and the account has ticket metrics."""

    model_config = ConfigDict(extra="ignore")
    tickets: list[dict[str, Any]]
    metric_sets: list[dict[str, Any]] = Field(default_factory=list)
    after_cursor: str | None = None
    end_of_stream: bool = True


class ZendeskUpload(BaseModel):
    """An upload's token (for `comment.uploads`, valid 60 minutes) and its attachment."""

    token: str
    attachment: ZendeskAttachment


class CreatedTicket(BaseModel):
    #: All that the create response shows: its Opened Ticket event needs no read back.
    ticket: ZendeskTicketDetails
    #: True when Zendesk answered from its idempotency store (`x-idempotency-lookup: hit`).
    replayed: bool


def auth_header(*, oauth_token: str | None, email: str | None, api_token: str | None) -> str:
    """The Authorization header: an OAuth bearer token, else the legacy `email/token` pair."""
    if oauth_token:
        return f"Bearer {oauth_token}"
    if email and api_token:
        raw = f"{email}/token:{api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode()
    raise ValueError("Zendesk needs ZENDESK_OAUTH_TOKEN, or ZENDESK_EMAIL with ZENDESK_API_TOKEN")


class Authorization(Protocol):
    """Where the client gets its `Authorization` header (OAuth tokens expire and are renewed:
    see `clients.zendesk_oauth`)."""

    async def header(self) -> str:
        """The header value to send now."""
        ...

    async def renew(self, stale: str) -> str | None:
        """A fresh header after `stale` met a 401, or None when nothing can be renewed."""
        ...


class StaticAuthorization:
    """A header that never changes: a long-lived OAuth token or the legacy API token."""

    def __init__(self, value: str) -> None:
        self._value = value

    async def header(self) -> str:
        return self._value

    async def renew(self, stale: str) -> str | None:
        return None


class ZendeskClient:
    """A thin typed wrapper over one shared `httpx.AsyncClient`.

    `authorization` is a fixed header value, or an `Authorization` whose token is renewed
    (once per request) when Zendesk answers 401.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        authorization: str | Authorization,
        budgets: Budgets | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = (
            StaticAuthorization(authorization) if isinstance(authorization, str) else authorization
        )
        self._budgets: Budgets = budgets or Unmetered()
        self._headers = {"Accept": "application/json"}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        def request(authorization: str) -> httpx.Request:
            return self._http.build_request(
                method,
                self._base + path,
                json=json,
                content=content,
                params=params,
                headers={**self._headers, "Authorization": authorization, **(headers or {})},
            )

        sent = await self._auth.header()
        try:
            return await self._metered(request(sent))
        except Unauthorized as exc:
            # A 401 was not processed, so sending again is safe; a 403 (scope) is final.
            fresh = await self._auth.renew(sent) if exc.status_code == 401 else None
            if fresh is None:
                raise
        return await self._metered(request(fresh))

    @asynccontextmanager
    async def read_then_update(self) -> AsyncIterator[None]:
        """Within the block, the first read and the first Update Ticket request after it go on
        slots reserved together, all or none (`BudgetWait` before either is sent).

        For a retried write, which reads the ticket's audits before it writes again: a read
        that spends the account's budget and an update that then finds no slot of its own
        would send the attempt back to do it all again, so that when the account budget binds,
        retried writes spend it on reads and never write.
        """
        read, update = (
            budgets_for("GET", "/api/v2/tickets/0"),
            budgets_for("PUT", "/api/v2/tickets/0"),
        )
        token = _paid_ahead.set(await self._budgets.reserve([read, update]))
        try:
            yield
        finally:
            _paid_ahead.reset(token)

    async def _metered(self, request: httpx.Request) -> httpx.Response:
        """Send once the request's budgets allow it, and tell them what Zendesk answered."""
        budgets = budgets_for(request.method, request.url.path)
        await self._turn(budgets)
        try:
            response = await send(SERVICE, self._http, request)
        except HttpStatusError as exc:
            refused_for = None
            if isinstance(exc, RateLimited):
                refused_for = exc.retry_after if exc.retry_after is not None else 0.0
            await self._budgets.settle(budgets, exc.headers, refused_for=refused_for)
            raise
        await self._budgets.settle(budgets, response.headers, refused_for=None)
        return response

    async def _turn(self, budgets: tuple[Budget, ...]) -> None:
        """Wait for the request's slot: one paid ahead for it, or the next one."""
        paid = _paid_ahead.get()
        if paid and paid[0].budgets == budgets:
            slot = paid.pop(0)
        else:
            [slot] = await self._budgets.reserve([budgets])
        await self._budgets.wait_for(slot)

    async def me(self) -> ZendeskUser:
        response = await self._call("GET", "/api/v2/users/me")
        return ZendeskUser.model_validate(response.json()["user"])

    async def get_user(self, user_id: int) -> ZendeskUser:
        response = await self._call("GET", f"/api/v2/users/{user_id}")
        return ZendeskUser.model_validate(response.json()["user"])

    async def create_or_update_user(self, *, name: str, external_id: str) -> ZendeskUser:
        """Find or make the user with this `external_id`.

        Neither email nor role is sent: Zendesk matches create_or_update on email too, and a
        customer whose profile email belongs to an agent would otherwise turn that agent into
        the requester (and have its role and external id overwritten).
        """
        user = {"name": name, "external_id": external_id}
        response = await self._call("POST", "/api/v2/users/create_or_update", json={"user": user})
        return ZendeskUser.model_validate(response.json()["user"])

    async def create_ticket(self, ticket: dict[str, Any], *, idempotency_key: str) -> CreatedTicket:
        response = await self._call(
            "POST",
            "/api/v2/tickets",
            json={"ticket": ticket},
            headers={"Idempotency-Key": idempotency_key},
        )
        replayed = response.headers.get("x-idempotency-lookup", "").lower() == "hit"
        return CreatedTicket(
            ticket=ZendeskTicketDetails.model_validate(response.json()["ticket"]),
            replayed=replayed,
        )

    async def update_ticket(self, ticket_id: int, ticket: dict[str, Any]) -> ZendeskTicket:
        response = await self._call("PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": ticket})
        return ZendeskTicket.model_validate(response.json()["ticket"])

    async def update_ticket_audited(self, ticket_id: int, ticket: dict[str, Any]) -> UpdatedTicket:
        """`update_ticket`, also returning the update's audit (the new comment's id)."""
        response = await self._call("PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": ticket})
        body = response.json()
        return UpdatedTicket(
            ticket=ZendeskTicket.model_validate(body["ticket"]),
            audit=ZendeskAudit.model_validate(body["audit"]) if body.get("audit") else None,
        )

    async def get_ticket(self, ticket_id: int) -> ZendeskTicket:
        response = await self._call("GET", f"/api/v2/tickets/{ticket_id}")
        return ZendeskTicket.model_validate(response.json()["ticket"])

    async def list_comments(self, ticket_id: int) -> list[ZendeskComment]:
        """The ticket's comments, newest last (first page: enough to find a recent write)."""
        response = await self._call(
            "GET", f"/api/v2/tickets/{ticket_id}/comments", params={"sort_order": "desc"}
        )
        comments = [ZendeskComment.model_validate(c) for c in response.json()["comments"]]
        return sorted(comments, key=lambda c: c.id)

    async def latest_audits(self, ticket_id: int) -> list[ZendeskAudit]:
        """The ticket's most recent audits (one page of up to 100), newest first: enough for
        a retried write to find what its earlier attempt left."""
        response = await self._call(
            "GET",
            f"/api/v2/tickets/{ticket_id}/audits",
            params={"sort_order": "desc", "page[size]": 100},
        )
        return [ZendeskAudit.model_validate(a) for a in response.json()["audits"]]

    async def upload(self, *, file_name: str, content: bytes, content_type: str) -> ZendeskUpload:
        """Upload one file (Uploads API): raw bytes, their real type, and a name whose
        extension matches that type, as Zendesk asks."""
        response = await self._call(
            "POST",
            "/api/v2/uploads",
            params={"filename": file_name},
            content=content,
            headers={"Content-Type": content_type},
        )
        return ZendeskUpload.model_validate(response.json()["upload"])

    async def get_attachment(self, attachment_id: int) -> ZendeskAttachment:
        response = await self._call("GET", f"/api/v2/attachments/{attachment_id}")
        return ZendeskAttachment.model_validate(response.json()["attachment"])

    @asynccontextmanager
    async def open_content(self, content_url: str) -> AsyncIterator[httpx.Response]:
        """An attachment's bytes, as a streamed response, fetched with the product's
        credentials (private attachments need them). They go only to the account's own host;
        httpx drops them on a redirect elsewhere (Zendesk's file CDN)."""
        own = urlsplit(content_url).netloc == urlsplit(self._base).netloc
        headers = {"Authorization": await self._auth.header()} if own else {}
        request = self._http.build_request("GET", content_url, headers=headers)
        # A request to the account's own host spends its budget like any other (B14).
        budgets = budgets_for("GET", request.url.path) if own else ()
        await self._turn(budgets)
        try:
            response = await self._http.send(request, stream=True, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransportFailure(SERVICE, f"GET {request.url.path}: {exc!r}") from exc
        try:
            refused_for = None
            if response.status_code == 429:
                refused_for = parse_retry_after(response.headers.get("Retry-After")) or 0.0
            if budgets:
                await self._budgets.settle(budgets, response.headers, refused_for=refused_for)
            if response.is_error:
                await response.aread()
                raise_for_status(SERVICE, response)
            yield response
        finally:
            await response.aclose()

    async def list_brands(self) -> list[dict[str, Any]]:
        response = await self._call("GET", "/api/v2/brands")
        brands: list[dict[str, Any]] = response.json()["brands"]
        return brands

    async def get_ticket_details(self, ticket_id: int) -> ZendeskTicketDetails:
        response = await self._call("GET", f"/api/v2/tickets/{ticket_id}")
        return ZendeskTicketDetails.model_validate(response.json()["ticket"])

    async def get_group(self, group_id: int) -> ZendeskGroup:
        response = await self._call("GET", f"/api/v2/groups/{group_id}")
        return ZendeskGroup.model_validate(response.json()["group"])

    async def ticket_events(self, *, start_time: int) -> TicketEventPage:
        """One page of the incremental ticket event export, comments included (admins only)."""
        response = await self._call(
            "GET",
            "/api/v2/incremental/ticket_events",
            params={"start_time": start_time, "include": "comment_events"},
        )
        return TicketEventPage.model_validate(response.json())

    async def export_tickets(
        self,
        *,
        start_time: int | None = None,
        cursor: str | None = None,
        include: str | None = None,
    ) -> TicketExportPage:
        """One page of the cursor-based incremental ticket export (admins only): from
        `start_time` (Unix seconds, at least a minute ago) or from a page's `after_cursor`;
        `include` sideloads, e.g. `metric_sets`."""
        params: dict[str, Any] = {"cursor": cursor} if cursor else {"start_time": start_time}
        if include:
            params["include"] = include
        response = await self._call("GET", "/api/v2/incremental/tickets/cursor", params=params)
        return TicketExportPage.model_validate(response.json())

    async def show_users(self, user_ids: list[int]) -> list[ZendeskUser]:
        """Up to 100 users in one request."""
        response = await self._call(
            "GET", "/api/v2/users/show_many", params={"ids": ",".join(map(str, user_ids))}
        )
        return [ZendeskUser.model_validate(u) for u in response.json()["users"]]

    async def list_ticket_fields(self) -> list[ZendeskTicketField]:
        """Every ticket field: without pagination parameters Zendesk returns them all at once."""
        response = await self._call("GET", "/api/v2/ticket_fields")
        return [ZendeskTicketField.model_validate(f) for f in response.json()["ticket_fields"]]

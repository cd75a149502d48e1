"""Offline Zendesk Support: the API routes the product calls, and `/_sandbox/*` for tests.

Paths follow `zendesk-oas.yaml`; like Zendesk, each also answers with a `.json` suffix. Agents
act through the same API (a reply is `PUT /api/v2/tickets/{id}` with `author_id: 2`), and the
sandbox sends signed event-subscription webhooks to `webhook_url`.
"""

from __future__ import annotations

import base64
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import credentials
from sandbox.middleware import CONTROL_PREFIX, ApiSurface
from sandbox.service import service_app
from sandbox.zendesk_admin import ZendeskAdmin, add_admin_routes
from sandbox.zendesk_audits import add_audit_routes
from sandbox.zendesk_events import add_event_export_route
from sandbox.zendesk_model import (
    BRANDS,
    GROUPS,
    TICKET_FIELDS,
    Status,
    UserInput,
    ZendeskConfig,
    ZendeskError,
    not_found,
)
from sandbox.zendesk_oauth import (
    TOKEN_PATH,
    OAuthRegistry,
    add_oauth_routes,
    oauth_control_router,
)
from sandbox.zendesk_render import (
    brand_json,
    comment_json,
    export_page,
    group_json,
    ticket_field_json,
    ticket_json,
    user_json,
)
from sandbox.zendesk_state import ZendeskState
from sandbox.zendesk_uploads import add_upload_routes, content_base

OAUTH_TOKEN = credentials.ZENDESK_OAUTH_TOKEN
API_EMAIL = credentials.ZENDESK_API_EMAIL
API_TOKEN = credentials.ZENDESK_API_TOKEN
WEBHOOK_SECRET = credentials.ZENDESK_WEBHOOK_SECRET

_ERROR_NAMES = {400: "InvalidValue", 404: "RecordNotFound", 429: "TooManyRequests"}


def zendesk_error(status: int, message: str) -> Response:
    name = _ERROR_NAMES.get(status, "ServerError" if status >= 500 else "InvalidRequest")
    return ZendeskError(status, name, message).response()


class _JsonSuffix:
    """Drop the optional `.json` suffix of API paths, so each route answers both forms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/api/") and path.endswith(".json"):
            scope = {**scope, "path": path.removesuffix(".json")}
        await self.app(scope, receive, send)


def _authenticator(
    state: ZendeskState, oauth: OAuthRegistry, *, oauth_token: str, api_email: str, api_token: str
) -> ApiSurface:
    basic = base64.b64encode(f"{api_email}/token:{api_token}".encode()).decode()

    def admit(request: Request) -> Response | None:
        # Tokens issued by `/oauth/tokens` (expiry, scopes) are judged by the OAuth registry.
        refused = oauth.refusal(request)
        if refused is not None:
            return refused
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        expected = {"bearer": oauth_token, "basic": basic}.get(scheme.lower())
        issued = oauth.bearer(request) is not None or request.url.path == TOKEN_PATH
        if not issued and (
            expected is None or not hmac.compare_digest(credential.encode(), expected.encode())
        ):
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        limited = state.admit_request(request.method, request.url.path)
        return None if limited is None else limited.response()

    def headers(request: Request) -> dict[str, str]:
        return state.rate_limit_headers(request.method, request.url.path)

    return ApiSurface(spec="zendesk", admit=admit, error=zendesk_error, headers=headers)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise ZendeskError(400, "InvalidValue", f"The body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ZendeskError(400, "InvalidValue", "The body must be a JSON object")
    return body


def _system(request: Request) -> dict[str, Any]:
    """What Zendesk records of a request in its audit's `metadata.system`."""
    return {
        "client": request.headers.get("user-agent"),
        "ip_address": request.client.host if request.client else None,
        "location": None,
        "latitude": None,
        "longitude": None,
    }


def _add_api_routes(app: FastAPI, state: ZendeskState, oauth: OAuthRegistry) -> None:
    """Tickets, comments, users, brands, groups, fields, the export and uploads."""
    base = state.base_url

    @app.post("/api/v2/tickets", status_code=201)
    async def create_ticket(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        response, replayed = state.create_ticket(await _json_body(request), key, _system(request))
        headers = {"Location": response["ticket"]["url"]}
        if key is not None:
            headers["x-idempotency-lookup"] = "hit" if replayed else "miss"
        return JSONResponse(response, status_code=201, headers=headers)

    @app.get("/api/v2/tickets/{ticket_id}")
    async def show_ticket(ticket_id: int) -> dict[str, Any]:
        return {"ticket": ticket_json(state.ticket(ticket_id), base)}

    @app.put("/api/v2/tickets/{ticket_id}")
    async def update_ticket(ticket_id: int, request: Request) -> dict[str, Any]:
        return state.update_ticket(ticket_id, await _json_body(request), _system(request))

    @app.get("/api/v2/tickets/{ticket_id}/comments")
    async def list_comments(
        ticket_id: int, request: Request, sort_order: str = "asc"
    ) -> dict[str, Any]:
        files = content_base(request)
        comments = [comment_json(c, base, files) for c in state.ticket(ticket_id).comments]
        if sort_order == "desc":
            comments.reverse()
        return {
            "comments": comments,
            "next_page": None,
            "previous_page": None,
            "count": len(comments),
        }

    @app.post("/api/v2/users/create_or_update")
    async def create_or_update_user(request: Request) -> JSONResponse:
        given = UserInput.model_validate((await _json_body(request)).get("user") or {})
        user, created = state.create_or_update_user(given)
        return JSONResponse({"user": user_json(user, base)}, status_code=201 if created else 200)

    @app.get("/api/v2/users/me")
    async def show_me(request: Request) -> dict[str, Any]:
        return {"user": user_json(state.user(oauth.user_id(request)), base)}

    @app.get("/api/v2/users/show_many")
    async def show_many_users(ids: str) -> dict[str, Any]:
        wanted = [int(part) for part in ids.split(",") if part.strip().isdigit()]
        users = [user_json(state.data.users[i], base) for i in wanted if i in state.data.users]
        return {"users": users, "next_page": None, "previous_page": None, "count": len(users)}

    @app.get("/api/v2/users/{user_id}")
    async def show_user(user_id: int) -> dict[str, Any]:
        return {"user": user_json(state.user(user_id), base)}

    @app.get("/api/v2/brands")
    async def list_brands() -> dict[str, Any]:
        brands = [brand_json(i, base) for i in BRANDS]
        return {"brands": brands, "next_page": None, "previous_page": None, "count": len(brands)}

    @app.get("/api/v2/brands/{brand_id}")
    async def show_brand(brand_id: int) -> dict[str, Any]:
        if brand_id not in BRANDS:
            raise not_found()
        return {"brand": brand_json(brand_id, base)}

    @app.get("/api/v2/groups/{group_id}")
    async def show_group(group_id: int) -> dict[str, Any]:
        if group_id not in GROUPS:
            raise not_found()
        return {"group": group_json(group_id, base)}

    @app.get("/api/v2/ticket_fields")
    async def list_ticket_fields() -> dict[str, Any]:
        fields = [ticket_field_json(i, base) for i in TICKET_FIELDS]
        return {
            "ticket_fields": fields,
            "next_page": None,
            "previous_page": None,
            "count": len(fields),
        }

    @app.get("/api/v2/incremental/tickets/cursor")
    async def export_tickets(
        start_time: int | None = None,
        cursor: str | None = None,
        per_page: int = Query(default=1000, ge=1, le=1000),
    ) -> dict[str, Any]:
        return export_page(
            state.data.tickets.values(),
            base,
            start_time=start_time,
            cursor=cursor,
            per_page=per_page,
        )


class StatusChange(BaseModel):
    status: Status


def _sandbox_router(state: ZendeskState) -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])

    def with_comments(ticket_id: int, files: str) -> dict[str, Any]:
        ticket = state.ticket(ticket_id)
        return {
            **ticket_json(ticket, state.base_url),
            "comments": [comment_json(c, state.base_url, files) for c in ticket.comments],
        }

    @router.get("/tickets")
    async def all_tickets(request: Request) -> dict[str, Any]:
        files = content_base(request)
        return {"tickets": [with_comments(i, files) for i in state.data.tickets]}

    @router.get("/tickets/{ticket_id}")
    async def one_ticket(ticket_id: int, request: Request) -> dict[str, Any]:
        return {"ticket": with_comments(ticket_id, content_base(request))}

    @router.post("/tickets/{ticket_id}/status")
    async def force_status(ticket_id: int, change: StatusChange) -> dict[str, Any]:
        """Change a status as Zendesk's own automations would (e.g. close a solved ticket)."""
        return {"ticket": ticket_json(state.force_status(ticket_id, change.status), state.base_url)}

    @router.get("/users")
    async def all_users() -> dict[str, Any]:
        return {"users": [user_json(u, state.base_url) for u in state.data.users.values()]}

    return router


def create_zendesk_app(
    *,
    webhook_url: str | None = None,
    webhook_secret: str = WEBHOOK_SECRET,
    oauth_token: str = OAUTH_TOKEN,
    api_email: str = API_EMAIL,
    api_token: str = API_TOKEN,
    state_file: Path | None = None,
    subdomain: str = "acme",
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the Zendesk sandbox; its state is `app.state.sandbox` (a `ZendeskState`).

    Args:
        webhook_url: where event-subscription webhooks go (None: none are sent).
        webhook_secret: the signing secret of that webhook.
        oauth_token: accepted as `Authorization: Bearer <token>`.
        api_email, api_token: accepted as Basic `<email>/token:<api_token>`.
        state_file: JSON file the data is kept in across restarts (None: memory only).
        subdomain: the account's subdomain, used in the URLs the API returns.
        webhook_transport: httpx transport for webhooks (tests deliver in-process with it).
    """
    state = ZendeskState(
        config=ZendeskConfig(webhook_url=webhook_url),
        webhook_secret=webhook_secret,
        api_email=api_email,
        subdomain=subdomain,
        state_file=state_file,
        transport=webhook_transport,
    )

    # Lambdas, not bound values: tests replace `state.clock`, and a reset replaces `state.data`.
    oauth = OAuthRegistry(lambda: state.clock(), lambda user_id: user_id in state.data.users)
    admin = ZendeskAdmin(state, oauth)

    def add_routes(app: FastAPI) -> None:
        _add_api_routes(app, state, oauth)
        add_oauth_routes(app, oauth, state.base_url)
        add_admin_routes(app, admin)
        add_event_export_route(app, state, admin)
        add_audit_routes(app, state)
        add_upload_routes(app, state)

    app = service_app(
        "Zendesk sandbox",
        state,
        _authenticator(
            state, oauth, oauth_token=oauth_token, api_email=api_email, api_token=api_token
        ),
        add_api_routes=add_routes,
        control=_sandbox_router(state),
    )
    app.include_router(oauth_control_router(oauth))
    app.state.oauth, app.state.admin = oauth, admin

    async def invalid_input(_: Request, exc: Exception) -> Response:
        return zendesk_error(400, str(exc))

    app.add_exception_handler(ValidationError, invalid_input)
    app.add_middleware(_JsonSuffix)
    return app

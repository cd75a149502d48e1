"""Zendesk's admin surface in the sandbox: webhooks, views and automations (what
`starter.py setup --provision` makes), plus the OAuth routes of `sandbox.zendesk_oauth`.

Only the rules a provisioning tool meets are imitated, but those faithfully:
- Webhooks (Webhooks API, not in `zendesk-oas.yaml`): created 201, listed with
  `filter[name_contains]`, updated with 204; one subscribed to Zendesk events must use POST and
  JSON, and a webhook never changes its connection method (events vs triggers); each has its own
  signing secret (`GET /api/v2/webhooks/{id}/signing_secret`).
- Views: `all` must test status, type, group, assignee or requester.
- Automations: a time-based condition and an action that nullifies a condition are required.
- Webhooks and automations need an admin; views an agent; end-users get 403.
The records live in memory: they are set-up data, not conversation data.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import Response

from sandbox.zendesk_model import ZendeskError, not_found, record_invalid
from sandbox.zendesk_oauth import OAuthRegistry
from sandbox.zendesk_render import iso
from sandbox.zendesk_state import ZendeskState

EVENT_PREFIX = "zen:event-type:"
TRIGGER_CONNECTION = "conditional_ticket_events"
VIEW_ANCHORS = {"status", "type", "group_id", "assignee_id", "requester_id"}
TIME_FIELDS = {
    "NEW",
    "OPEN",
    "PENDING",
    "HOLD",
    "SOLVED",
    "CLOSED",
    "assigned_at",
    "updated_at",
    "requester_updated_at",
    "assignee_updated_at",
    "due_date",
    "until_due_date",
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Condition(_Input):
    field: str
    operator: str
    value: str | int | float | bool | None = None


class Action(_Input):
    field: str
    value: str | int | list[str] | None = None


class Conditions(_Input):
    all: list[Condition] = []
    any: list[Condition] = []


class WebhookInput(_Input):
    name: str | None = None
    endpoint: str | None = None
    http_method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    request_format: Literal["json", "xml", "form_encoded"] | None = None
    status: Literal["active", "inactive"] | None = None
    subscriptions: list[str] | None = None
    description: str | None = None


class Webhook(BaseModel):
    id: str
    name: str
    endpoint: str
    http_method: str
    request_format: str
    status: str
    subscriptions: list[str]
    description: str | None = None
    signing_secret: str
    created_by: str
    created_at: float
    updated_at: float


class ViewInput(_Input):
    title: str | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    description: str | None = None
    active: bool | None = None
    position: int | None = None
    output: dict[str, Any] | None = None
    restriction: dict[str, Any] | None = None


class View(BaseModel):
    id: int
    title: str
    conditions: Conditions
    description: str | None = None
    active: bool = True
    position: int
    output: dict[str, Any] = {}
    restriction: dict[str, Any] | None = None
    created_at: float
    updated_at: float


class AutomationInput(_Input):
    title: str | None = None
    conditions: Conditions | None = None
    actions: list[Action] | None = None
    active: bool | None = None
    position: int | None = None


class Automation(BaseModel):
    id: int
    title: str
    conditions: Conditions
    actions: list[Action]
    active: bool = True
    position: int
    created_at: float
    updated_at: float


def webhook_error(status: int, detail: str) -> JSONResponse:
    """The Webhooks API's error body (JSON:API style, unlike the Support API's)."""
    title = "Invalid input" if status == 400 else "Not found" if status == 404 else "Error"
    code = "InvalidInput" if status == 400 else "NotFound" if status == 404 else "Error"
    return JSONResponse(
        {"errors": [{"code": code, "title": title, "detail": detail}]}, status_code=status
    )


def forbidden() -> ZendeskError:
    return ZendeskError(403, "Forbidden", "You do not have access to this page.")


class ZendeskAdmin:
    """Webhooks, views and automations of the sandbox account."""

    def __init__(self, state: ZendeskState, oauth: OAuthRegistry) -> None:
        self.state = state
        self.oauth = oauth
        self.webhooks: dict[str, Webhook] = {}
        self.views: dict[int, View] = {}
        self.automations: dict[int, Automation] = {}
        self._next_id = 50_000_001

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def require(self, request: Request, role: Literal["agent", "admin"]) -> int:
        """The acting user's id, if their role may do this (admin > agent > end-user)."""
        user = self.state.user(self.oauth.user_id(request))
        if user.role == "end-user" or (role == "admin" and user.role != "admin"):
            raise forbidden()
        return user.id

    # Webhooks

    def check_webhook(self, hook: WebhookInput, existing: Webhook | None) -> str | None:
        """Why Zendesk would refuse this webhook, or None."""
        merged = {
            **(existing.model_dump() if existing else {}),
            **hook.model_dump(exclude_unset=True),
        }
        for name in ("name", "endpoint", "http_method", "request_format", "status"):
            if not merged.get(name):
                return f"{name} is required"
        subscriptions: list[str] = merged.get("subscriptions") or []
        if not subscriptions:
            return "subscriptions is required"
        url = urlsplit(str(merged["endpoint"]))
        if url.scheme not in ("http", "https") or not url.hostname:
            return f"endpoint {merged['endpoint']!r} is not a valid URL"
        events = [s for s in subscriptions if s.startswith(EVENT_PREFIX)]
        others = [s for s in subscriptions if s != TRIGGER_CONNECTION and s not in events]
        if others:
            return f"unknown subscription(s): {', '.join(others)}"
        if events and TRIGGER_CONNECTION in subscriptions:
            return "a webhook subscribes to Zendesk events or connects to triggers, not both"
        if events and (merged["http_method"] != "POST" or merged["request_format"] != "json"):
            return "a webhook subscribed to Zendesk events must use http_method POST and json"
        if existing is not None:
            was_events = any(s.startswith(EVENT_PREFIX) for s in existing.subscriptions)
            if was_events != bool(events):
                return "an existing webhook's connection method cannot be changed"
        return None

    def webhook_json(self, hook: Webhook) -> dict[str, Any]:
        shown = hook.model_dump(exclude={"signing_secret", "created_at", "updated_at"})
        shown |= {
            "created_at": iso(hook.created_at),
            "updated_at": iso(hook.updated_at),
            "updated_by": hook.created_by,
        }
        if hook.description is None:
            del shown["description"]
        return shown

    # Views and automations

    def view_json(self, view: View) -> dict[str, Any]:
        columns = [
            {"id": column, "title": str(column).replace("_", " ").capitalize()}
            for column in view.output.get("columns", [])
        ]
        execution = {"columns": columns} | {
            key: view.output[key]
            for key in ("group_by", "group_order", "sort_by", "sort_order")
            if key in view.output
        }
        shown: dict[str, Any] = {
            "id": view.id,
            "url": f"{self.state.base_url}/api/v2/views/{view.id}.json",
            "title": view.title,
            "raw_title": view.title,
            "active": view.active,
            "position": view.position,
            "default": False,
            "conditions": _conditions_json(view.conditions),
            "execution": execution,
            "created_at": iso(view.created_at),
            "updated_at": iso(view.updated_at),
        }
        if view.description is not None:
            shown["description"] = view.description
        if view.restriction is not None:
            shown["restriction"] = view.restriction
        return shown

    def automation_json(self, automation: Automation) -> dict[str, Any]:
        return {
            "id": automation.id,
            "url": f"{self.state.base_url}/api/v2/automations/{automation.id}.json",
            "title": automation.title,
            "raw_title": automation.title,
            "active": automation.active,
            "position": automation.position,
            "default": False,
            "conditions": _conditions_json(automation.conditions),
            "actions": [
                {
                    "field": a.field,
                    "value": a.value if isinstance(a.value, list) else _text(a.value),
                }
                for a in automation.actions
            ],
            "created_at": iso(automation.created_at),
            "updated_at": iso(automation.updated_at),
        }


def _text(value: Any) -> Any:
    """Zendesk shows condition and action values as strings (hours "24", ids "123")."""
    return value if value is None or isinstance(value, str) else str(value)


def _conditions_json(conditions: Conditions) -> dict[str, Any]:
    return {
        group: [
            {"field": c.field, "operator": c.operator, "value": _text(c.value)}
            for c in getattr(conditions, group)
        ]
        for group in ("all", "any")
    }


def check_view(view: View) -> None:
    if not view.title.strip():
        raise record_invalid("title", "Title: cannot be blank")
    if not any(c.field in VIEW_ANCHORS for c in view.conditions.all):
        raise record_invalid(
            "base",
            "View must test for at least one of the following ticket properties in the ALL "
            "conditions section: Status, Type, Group, Assignee, Requester",
        )


def check_automation(automation: Automation) -> None:
    if not automation.title.strip():
        raise record_invalid("title", "Title: cannot be blank")
    conditions = automation.conditions.all + automation.conditions.any
    if not any(
        c.field in TIME_FIELDS and c.operator in {"is", "greater_than", "less_than"}
        for c in conditions
    ):
        raise record_invalid("base", "Automations must have a time based condition")
    if not automation.actions:
        raise record_invalid("actions", "Actions: cannot be blank")
    nullified = any(
        (c.operator == "is" and a.field == c.field and _text(a.value) != _text(c.value))
        or (c.operator == "includes" and a.field == "remove_tags" and c.field == "current_tags")
        for c in automation.conditions.all
        for a in automation.actions
    )
    if not nullified:
        raise record_invalid("base", "Automation must contain an action that nullifies a condition")


async def _object(request: Request, key: str) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ZendeskError(400, "InvalidValue", f"The body is not valid JSON: {exc}") from exc
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise ZendeskError(400, "InvalidValue", f"The body must hold a {key!r} object")
    return inner


def add_admin_routes(app: FastAPI, admin: ZendeskAdmin) -> None:
    """Webhooks, views and automations (added to the app, where the gate counts them)."""
    _add_webhook_routes(app, admin)
    _add_rule_routes(app, admin)


def _add_webhook_routes(app: FastAPI, admin: ZendeskAdmin) -> None:
    async def given(request: Request) -> WebhookInput | JSONResponse:
        try:
            return WebhookInput.model_validate(await _object(request, "webhook"))
        except ValidationError as exc:
            return webhook_error(400, str(exc.errors()[0]["msg"]))

    @app.post("/api/v2/webhooks", status_code=201)
    async def create_webhook(request: Request) -> Response:
        user_id = admin.require(request, "admin")
        hook = await given(request)
        if isinstance(hook, JSONResponse):
            return hook
        problem = admin.check_webhook(hook, None)
        if problem:
            return webhook_error(400, problem)
        now = admin.state.clock()
        record = Webhook(
            id="01" + secrets.token_hex(12).upper(),
            signing_secret=secrets.token_urlsafe(32),
            created_by=str(user_id),
            created_at=now,
            updated_at=now,
            **hook.model_dump(exclude_none=True),
        )
        admin.webhooks[record.id] = record
        return JSONResponse({"webhook": admin.webhook_json(record)}, status_code=201)

    @app.get("/api/v2/webhooks")
    async def list_webhooks(request: Request) -> dict[str, Any]:
        admin.require(request, "admin")
        wanted = request.query_params.get("filter[name_contains]", "").lower()
        status = request.query_params.get("filter[status]")
        hooks = [
            admin.webhook_json(h)
            for h in admin.webhooks.values()
            if wanted in h.name.lower() and (status is None or h.status == status)
        ]
        return {
            "webhooks": hooks,
            "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
            "links": {"next": None, "prev": None},
        }

    def find(webhook_id: str) -> Webhook | JSONResponse:
        hook = admin.webhooks.get(webhook_id)
        return hook if hook else webhook_error(404, f"webhook {webhook_id} not found")

    @app.get("/api/v2/webhooks/{webhook_id}")
    async def show_webhook(webhook_id: str, request: Request) -> Response:
        admin.require(request, "admin")
        hook = find(webhook_id)
        if isinstance(hook, JSONResponse):
            return hook
        return JSONResponse({"webhook": admin.webhook_json(hook)})

    @app.api_route("/api/v2/webhooks/{webhook_id}", methods=["PUT", "PATCH"])
    async def update_webhook(webhook_id: str, request: Request) -> Response:
        admin.require(request, "admin")
        hook, changes = find(webhook_id), await given(request)
        if isinstance(hook, JSONResponse):
            return hook
        if isinstance(changes, JSONResponse):
            return changes
        problem = admin.check_webhook(changes, hook)
        if problem:
            return webhook_error(400, problem)
        updated = hook.model_copy(update=changes.model_dump(exclude_unset=True))
        updated.updated_at = admin.state.clock()
        admin.webhooks[webhook_id] = updated
        return Response(status_code=204)

    @app.get("/api/v2/webhooks/{webhook_id}/signing_secret")
    async def signing_secret(webhook_id: str, request: Request) -> Response:
        admin.require(request, "admin")
        hook = find(webhook_id)
        if isinstance(hook, JSONResponse):
            return hook
        secret = {"algorithm": "SHA256", "secret": hook.signing_secret}
        return JSONResponse({"signing_secret": secret})


def _add_rule_routes(app: FastAPI, admin: ZendeskAdmin) -> None:
    def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {key: items, "next_page": None, "previous_page": None, "count": len(items)}

    @app.get("/api/v2/views")
    async def list_views(request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        return page("views", [admin.view_json(v) for v in admin.views.values()])

    @app.post("/api/v2/views")
    async def create_view(request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        given = ViewInput.model_validate(await _object(request, "view"))
        now = admin.state.clock()
        view = View(
            id=admin.new_id(),
            title=given.title or "",
            conditions=Conditions(all=given.all or [], any=given.any or []),
            description=given.description,
            active=True if given.active is None else given.active,
            position=given.position if given.position is not None else len(admin.views) + 1,
            output=given.output or {},
            restriction=given.restriction,
            created_at=now,
            updated_at=now,
        )
        check_view(view)
        admin.views[view.id] = view
        return {"view": admin.view_json(view)}  # the spec answers Create View with 200

    @app.get("/api/v2/views/{view_id}")
    async def show_view(view_id: int, request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        if view_id not in admin.views:
            raise not_found()
        return {"view": admin.view_json(admin.views[view_id])}

    @app.put("/api/v2/views/{view_id}")
    async def update_view(view_id: int, request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        if view_id not in admin.views:
            raise not_found()
        given = ViewInput.model_validate(await _object(request, "view"))
        view = admin.views[view_id].model_copy(deep=True)
        changed = given.model_fields_set
        for name in ("title", "description", "active", "position", "output", "restriction"):
            if name in changed and getattr(given, name) is not None:
                setattr(view, name, getattr(given, name))
        if "all" in changed:
            view.conditions.all = given.all or []
        if "any" in changed:
            view.conditions.any = given.any or []
        check_view(view)
        view.updated_at = admin.state.clock()
        admin.views[view_id] = view
        return {"view": admin.view_json(view)}

    @app.get("/api/v2/automations")
    async def list_automations(request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        return page("automations", [admin.automation_json(a) for a in admin.automations.values()])

    @app.post("/api/v2/automations", status_code=201)
    async def create_automation(request: Request) -> JSONResponse:
        admin.require(request, "admin")
        given = AutomationInput.model_validate(await _object(request, "automation"))
        now = admin.state.clock()
        automation = Automation(
            id=admin.new_id(),
            title=given.title or "",
            conditions=given.conditions or Conditions(),
            actions=given.actions or [],
            active=True if given.active is None else given.active,
            position=given.position if given.position is not None else len(admin.automations) + 1,
            created_at=now,
            updated_at=now,
        )
        check_automation(automation)
        admin.automations[automation.id] = automation
        return JSONResponse({"automation": admin.automation_json(automation)}, status_code=201)

    @app.get("/api/v2/automations/{automation_id}")
    async def show_automation(automation_id: int, request: Request) -> dict[str, Any]:
        admin.require(request, "agent")
        if automation_id not in admin.automations:
            raise not_found()
        return {"automation": admin.automation_json(admin.automations[automation_id])}

    @app.put("/api/v2/automations/{automation_id}")
    async def update_automation(automation_id: int, request: Request) -> dict[str, Any]:
        admin.require(request, "admin")
        if automation_id not in admin.automations:
            raise not_found()
        given = AutomationInput.model_validate(await _object(request, "automation"))
        automation = admin.automations[automation_id].model_copy(deep=True)
        for name in ("title", "conditions", "actions", "active", "position"):
            if name in given.model_fields_set and getattr(given, name) is not None:
                setattr(automation, name, getattr(given, name))
        check_automation(automation)
        automation.updated_at = admin.state.clock()
        admin.automations[automation_id] = automation
        return {"automation": admin.automation_json(automation)}

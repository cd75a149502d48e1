"""Zendesk's incremental ticket event export: the record every ticket change leaves, and
`GET /api/v2/incremental/ticket_events` that serves it.

Webhooks are best-effort, so a product reconciles from this export; the sandbox keeps its
rules, which shape how a reconciler must poll:
- each create or update is one `Audit` event (its id is the audit's) whose `child_events` are
  the comment, a `Create` per property set on a new ticket, a `Change` per property changed;
- a comment shows as `comment_present`/`comment_public` only, unless `include=comment_events`;
- `start_time` (unix seconds, required) is inclusive and must be `incremental_lag_seconds`
  (60) in the past; events of that last minute are left out of every answer;
- oldest first, at most 1000 a page; `end_time` is the last event's timestamp and `next_page`
  starts there again, so events at a page's edge come twice (callers dedupe by id);
- `incremental_requests_per_minute` (10) requests a rolling minute per account, admins only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request

from sandbox.zendesk_model import Comment, Ticket, TicketEvent, ZendeskData, ZendeskError
from sandbox.zendesk_render import comment_json, iso

if TYPE_CHECKING:
    from sandbox.zendesk_admin import ZendeskAdmin
    from sandbox.zendesk_state import ZendeskState

PAGE_SIZE = 1000
API_VIA = "Web service"
"""The export's `via` is the via type's name: API requests are "Web service"."""
RULE_VIA = "Rule"
"""Changes made by Zendesk's own triggers and automations."""
AUDITED = (
    "subject",
    "status",
    "priority",
    "type",
    "requester_id",
    "assignee_id",
    "group_id",
    "brand_id",
    "tags",
)
"""The ticket properties whose setting and changing the sandbox records."""
ALWAYS_CREATED = {"status", "requester_id"}


def audited(ticket: Ticket) -> dict[str, Any]:
    """The audited properties as they stand (take it before an update, to diff after)."""
    return {name: _copy(getattr(ticket, name)) for name in AUDITED}


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def record(
    data: ZendeskData,
    ticket: Ticket,
    *,
    event_id: int,
    at: int,
    updater_id: int,
    before: dict[str, Any] | None,
    comment: Comment | None = None,
    via: str = API_VIA,
    metadata: dict[str, Any] | None = None,
) -> TicketEvent | None:
    """Keep the event of a create (`before` None) or an update; None if nothing changed."""
    now = audited(ticket)
    children: list[dict[str, Any]] = []
    for name, value in now.items():
        if before is None:
            if value not in (None, []) or name in ALWAYS_CREATED:
                children.append({"event_type": "Create", "field_name": name, name: value})
        elif value != before[name]:
            child = {"event_type": "Change", "field_name": name, name: value}
            child["previous_value"] = before[name]
            if name == "tags":
                child["added_tags"] = [t for t in value if t not in before[name]]
                child["removed_tags"] = [t for t in before[name] if t not in value]
            children.append(child)
    if not children and comment is None:
        return None
    for child in children:
        child["id"] = data.new_id("audit")  # Zendesk numbers events and audits alike
    event = TicketEvent(
        id=event_id,
        ticket_id=ticket.id,
        timestamp=at,
        updater_id=updater_id,
        via=via,
        child_events=children,
        comment_id=comment.id if comment else None,
        metadata=metadata or {"system": {}, "custom": {}},
    )
    data.ticket_events.append(event)
    return event


def event_json(
    event: TicketEvent, data: ZendeskData, base_url: str, *, comments: bool
) -> dict[str, Any]:
    """The event as the export shows it, its comment in full only with the sideload."""
    via = {"via": event.via, "via_reference_id": None}
    children = []
    comment = _comment(event, data)
    if comment is not None:
        if comments:
            children.append(
                {
                    **comment_json(comment, base_url),
                    "via_reference_id": None,
                    "event_type": "Comment",
                }
            )
        else:
            children.append(
                {
                    "id": comment.id,
                    **via,
                    "comment_present": True,
                    "comment_public": comment.public,
                    "event_type": "Comment",
                }
            )
    children.extend({"id": child["id"], **via, **child} for child in event.child_events)
    return {
        "id": event.id,
        "ticket_id": event.ticket_id,
        "timestamp": event.timestamp,
        "created_at": iso(event.timestamp),
        "updater_id": event.updater_id,
        "via": event.via,
        "event_type": "Audit",
        "child_events": children,
        "merged_ticket_ids": [],
    }


def _comment(event: TicketEvent, data: ZendeskData) -> Comment | None:
    ticket = data.tickets.get(event.ticket_id)
    if event.comment_id is None or ticket is None:
        return None
    return next((c for c in ticket.comments if c.id == event.comment_id), None)


def events_page(
    state: ZendeskState, request_url: str, *, start_time: int, include: str | None
) -> dict[str, Any]:
    """One page of the export from `start_time` (already checked against the lag)."""
    newest = state.now() - state.config.incremental_lag_seconds
    found = sorted(
        (e for e in state.data.ticket_events if start_time <= e.timestamp <= newest),
        key=lambda e: (e.timestamp, e.id),
    )
    page = found[:PAGE_SIZE]
    end_time = page[-1].timestamp if page else start_time
    comments = "comment_events" in (include or "").split(",")
    query: dict[str, Any] = {"start_time": end_time}
    if include:
        query["include"] = include
    return {
        "ticket_events": [
            event_json(e, state.data, state.base_url, comments=comments) for e in page
        ],
        "count": len(page),
        "end_time": end_time,
        "next_page": f"{request_url}?{urlencode(query)}",
        "end_of_stream": len(page) < PAGE_SIZE,
    }


def add_event_export_route(app: FastAPI, state: ZendeskState, admin: ZendeskAdmin) -> None:
    """`GET /api/v2/incremental/ticket_events` (on the app itself, where the gate counts it)."""

    @app.get("/api/v2/incremental/ticket_events")
    async def export_ticket_events(request: Request) -> dict[str, Any]:
        wait = state.recent_exports.admit(
            state.clock(), state.config.incremental_requests_per_minute
        )
        if wait is not None:
            raise ZendeskError(
                429,
                "APIRateLimitExceeded",
                "Number of allowed incremental export API requests per minute exceeded",
                retry_after=wait,
            )
        admin.require(request, "admin")
        given = request.query_params.get("start_time")
        if given is None or not given.lstrip("-").isdigit():
            raise ZendeskError(400, "InvalidValue", "start_time is required (unix seconds)")
        start_time = int(given)
        lag = state.config.incremental_lag_seconds
        if start_time > state.now() - lag:
            raise ZendeskError(
                400,
                "InvalidValue",
                f"Too recent start_time. Use a start_time at least {lag:g} seconds in the past",
            )
        # Answer on the address asked (the sandbox's base_url names the real account's host).
        url = str(request.base_url).rstrip("/") + "/api/v2/incremental/ticket_events.json"
        return events_page(
            state, url, start_time=start_time, include=request.query_params.get("include")
        )

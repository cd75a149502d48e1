"""`GET /api/v2/tickets/{ticket_id}/audits` (ListAuditsForTicket): each create and update of a
ticket as its audit, with the `metadata` the request gave (`custom`) beside Zendesk's own
(`system`).

The audits are the ticket events the sandbox already keeps for the incremental export, so the
two never disagree. Paging follows Zendesk's rules for this endpoint: at most 100 a page;
`sort_order` asc (the default) or desc; offset paging (`page`, `per_page`) answers `next_page`,
`previous_page` and `count`; cursor paging (`page[size]`, `page[after]`, `page[before]`) answers
`meta` (`has_more`, `after_cursor`, `before_cursor`) and `links` (`next`, `prev`).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request

from sandbox.zendesk_events import RULE_VIA
from sandbox.zendesk_model import TicketEvent, ZendeskData, ZendeskError
from sandbox.zendesk_render import API_VIA, comment_json, iso

if TYPE_CHECKING:
    from sandbox.zendesk_state import ZendeskState

MAX_PAGE = 100
RULE_VIA_OBJECT: dict[str, Any] = {
    "channel": "rule",
    "source": {"from": {}, "to": {}, "rel": "automation"},
}


def audit_event_json(event: TicketEvent, data: ZendeskData, base_url: str) -> dict[str, Any]:
    """One audit as ListAuditsForTicket shows it: its comment first, then its field events."""
    events: list[dict[str, Any]] = []
    ticket = data.tickets.get(event.ticket_id)
    if event.comment_id is not None and ticket is not None:
        comment = next((c for c in ticket.comments if c.id == event.comment_id), None)
        if comment is not None:
            events.append(comment_json(comment, base_url))
    for child in event.child_events:
        name = child["field_name"]
        shown = {"id": child["id"], "type": child["event_type"], "field_name": name}
        shown["value"] = child[name]
        if "previous_value" in child:
            shown["previous_value"] = child["previous_value"]
        events.append(shown)
    return {
        "id": event.id,
        "ticket_id": event.ticket_id,
        "created_at": iso(event.timestamp),
        "author_id": event.updater_id,
        "metadata": event.metadata or {"system": {}, "custom": {}},
        "via": RULE_VIA_OBJECT if event.via == RULE_VIA else API_VIA,
        "events": events,
    }


def _cursor(event: TicketEvent) -> str:
    return base64.urlsafe_b64encode(str(event.id).encode()).decode()


def _position(cursor: str, audits: list[TicketEvent]) -> int:
    try:
        audit_id = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ZendeskError(400, "InvalidPaginationParameter", "invalid cursor") from exc
    for index, audit in enumerate(audits):
        if audit.id == audit_id:
            return index
    raise ZendeskError(400, "InvalidPaginationParameter", "invalid cursor")


def _size(value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise ZendeskError(400, "InvalidPaginationParameter", f"page size must be 1-{MAX_PAGE}")
    return int(value)


def audits_page(
    audits: list[TicketEvent], data: ZendeskData, base_url: str, url: str, query: dict[str, str]
) -> dict[str, Any]:
    """One page of a ticket's audits, in the order asked, by offset or by cursor."""
    if query.get("sort_order", "asc") == "desc":
        audits = audits[::-1]
    keep = {k: v for k, v in query.items() if k in ("sort_order", "page[size]", "per_page")}
    if any(name.startswith("page[") for name in query):
        size = _size(query.get("page[size]"), MAX_PAGE)
        start, end = 0, min(size, len(audits))
        if "page[after]" in query:
            start = _position(query["page[after]"], audits) + 1
            end = min(start + size, len(audits))
        elif "page[before]" in query:
            end = _position(query["page[before]"], audits)
            start = max(0, end - size)
        page = audits[start:end]
        after = _cursor(page[-1]) if page else None
        before = _cursor(page[0]) if page else None
        has_more = end < len(audits)
        return {
            "audits": [audit_event_json(a, data, base_url) for a in page],
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {
                "next": f"{url}?{urlencode({**keep, 'page[after]': after})}" if has_more else None,
                "prev": f"{url}?{urlencode({**keep, 'page[before]': before})}" if start else None,
            },
        }
    number = query.get("page", "1")
    if not number.isdigit() or int(number) < 1:
        raise ZendeskError(400, "InvalidPaginationParameter", "page must be a positive integer")
    per_page = _size(query.get("per_page"), MAX_PAGE)
    start = (int(number) - 1) * per_page
    page = audits[start : start + per_page]
    more = start + per_page < len(audits)
    following = f"{url}?{urlencode({**keep, 'page': int(number) + 1})}"
    preceding = f"{url}?{urlencode({**keep, 'page': int(number) - 1})}"
    return {
        "audits": [audit_event_json(a, data, base_url) for a in page],
        "next_page": following if more else None,
        "previous_page": preceding if start else None,
        "count": len(audits),
    }


def add_audit_routes(app: FastAPI, state: ZendeskState) -> None:
    @app.get("/api/v2/tickets/{ticket_id}/audits")
    async def list_audits(ticket_id: int, request: Request) -> dict[str, Any]:
        state.ticket(ticket_id)  # 404 for a ticket that does not exist
        audits = sorted(
            (e for e in state.data.ticket_events if e.ticket_id == ticket_id),
            key=lambda e: (e.timestamp, e.id),
        )
        url = str(request.base_url).rstrip("/") + f"/api/v2/tickets/{ticket_id}/audits.json"
        return audits_page(audits, state.data, state.base_url, url, dict(request.query_params))

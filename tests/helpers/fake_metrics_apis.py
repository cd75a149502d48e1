"""Small fakes of the Zendesk reads and the Klaviyo event endpoint the ticket metrics use,
served through `httpx.MockTransport` (one transport, told apart by host)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

ZENDESK_URL = "https://acme.zendesk.test"
KLAVIYO_URL = "https://a.klaviyo.test"
REVISION = "2026-07-15"
SUPPORT_GROUP = {"id": 20001, "name": "Support"}
ORDER_FIELD = {"id": 9001, "title": "Order number"}
AGENT = {"id": 2, "name": "Alex Agent", "email": "alex@acme.example", "role": "agent"}


def ticket_json(ticket_id: int, **overrides: Any) -> dict[str, Any]:
    """A ticket as `GET /api/v2/tickets/{id}` shows it (the fields the product reads)."""
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "status": "new",
        "subject": "Broken zipper",
        "description": "The zipper broke on day one.",
        "priority": "high",
        "type": "problem",
        "tags": ["returns", "vip"],
        "requester_id": 10001,
        "assignee_id": AGENT["id"],
        "group_id": SUPPORT_GROUP["id"],
        "brand_id": 360001,
        "external_id": None,
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "custom_fields": [
            {"id": ORDER_FIELD["id"], "value": "A-1001"},
            {"id": 9002, "value": None},
        ],
    }
    return ticket | overrides


@dataclass
class FakeZendesk:
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=lambda: {AGENT["id"]: AGENT})
    groups: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {SUPPORT_GROUP["id"]: SUPPORT_GROUP}
    )
    fields: list[dict[str, Any]] = field(default_factory=lambda: [ORDER_FIELD])
    calls: Counter[str] = field(default_factory=Counter)

    def add_requester(self, user_id: int = 10001, **attributes: Any) -> None:
        self.users[user_id] = {"id": user_id, "name": "Dana", "role": "end-user"} | attributes

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[re.sub(r"/\d+$", "/{id}", path)] += 1
        found: dict[str, Any] | None = None
        if match := re.fullmatch(r"/api/v2/tickets/(\d+)", path):
            found = {"ticket": self.tickets.get(int(match[1]))}
        elif match := re.fullmatch(r"/api/v2/users/(\d+)", path):
            found = {"user": self.users.get(int(match[1]))}
        elif match := re.fullmatch(r"/api/v2/groups/(\d+)", path):
            found = {"group": self.groups.get(int(match[1]))}
        elif path == "/api/v2/ticket_fields":
            found = {"ticket_fields": self.fields}
        if found is None or None in found.values():
            return httpx.Response(404, json={"error": "RecordNotFound", "description": "Not found"})
        return httpx.Response(200, json=found)


@dataclass
class Posted:
    headers: httpx.Headers
    body: dict[str, Any]
    status: int

    @property
    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = self.body["data"]["attributes"]
        return attributes


@dataclass
class FakeKlaviyo:
    """`POST /api/events`: records each request; queued `faults` answer first, in order."""

    posted: list[Posted] = field(default_factory=list)
    faults: list[httpx.Response] = field(default_factory=list)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """Event attributes Klaviyo kept: the first of each unique_id, as Klaviyo does."""
        kept: dict[str, dict[str, Any]] = {}
        for post in self.posted:
            if post.status == 202:
                kept.setdefault(post.attributes["unique_id"], post.attributes)
        return list(kept.values())

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/events")
        response = self.faults.pop(0) if self.faults else httpx.Response(202)
        self.posted.append(
            Posted(request.headers, json.loads(request.content), response.status_code)
        )
        return response


@dataclass
class FakeApis:
    zendesk: FakeZendesk = field(default_factory=FakeZendesk)
    klaviyo: FakeKlaviyo = field(default_factory=FakeKlaviyo)

    def transport(self) -> httpx.MockTransport:
        def route(request: httpx.Request) -> httpx.Response:
            if request.url.host == httpx.URL(ZENDESK_URL).host:
                return self.zendesk.handle(request)
            return self.klaviyo.handle(request)

        return httpx.MockTransport(route)

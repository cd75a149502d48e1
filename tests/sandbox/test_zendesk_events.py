"""Zendesk sandbox: the incremental ticket event export a reconciler reads when webhooks are
lost (`GET /api/v2/incremental/ticket_events`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.zendesk import create_zendesk_app
from tests.sandbox.helpers import assert_conforms

EVENTS = "/api/v2/incremental/ticket_events.json"
T0 = 1_796_000_000


@pytest.fixture
def clock(zendesk_app: FastAPI) -> list[float]:
    """The sandbox's time, moved by assigning `clock[0]` (no waiting a minute for the lag)."""
    now = [float(T0)]
    zendesk_app.state.sandbox.clock = lambda: now[0]
    return now


async def customer_ticket(zendesk: httpx.AsyncClient) -> dict[str, Any]:
    user = await zendesk.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "Sam", "external_id": "sms:+15551230001"}},
    )
    user_id = user.json()["user"]["id"]
    created = await zendesk.post(
        "/api/v2/tickets",
        json={
            "ticket": {
                "subject": "SMS",
                "requester_id": user_id,
                "tags": ["sms"],
                "comment": {"body": "Where is my parcel?", "author_id": user_id},
            }
        },
    )
    ticket: dict[str, Any] = created.json()["ticket"]
    return ticket


async def export(zendesk: httpx.AsyncClient, start_time: int, **params: Any) -> dict[str, Any]:
    response = await zendesk.get(EVENTS, params={"start_time": start_time, **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_creates_updates_and_automations_leave_audit_events(
    zendesk: httpx.AsyncClient, clock: list[float]
) -> None:
    ticket = await customer_ticket(zendesk)
    clock[0] += 5
    reply = await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={
            "ticket": {
                "comment": {"body": "It ships today.", "author_id": 2},
                "status": "solved",
            }
        },
    )
    clock[0] += 5
    await zendesk.post(f"/_sandbox/tickets/{ticket['id']}/status", json={"status": "closed"})
    clock[0] += 60

    page = await export(zendesk, T0 - 3600, include="comment_events")
    assert_conforms("zendesk", "GET", "/api/v2/incremental/ticket_events", 200, page)
    created, replied, closed = page["ticket_events"]
    assert (page["count"], page["end_time"], page["end_of_stream"]) == (3, T0 + 10, True)

    comment = (await zendesk.get(f"/api/v2/tickets/{ticket['id']}/comments")).json()["comments"]
    assert created | {"child_events": []} == {
        "id": comment[0]["audit_id"],
        "ticket_id": ticket["id"],
        "timestamp": T0,
        "created_at": "2026-11-30T00:53:20Z",
        "updater_id": ticket["requester_id"],
        "via": "Web service",
        "event_type": "Audit",
        "child_events": [],
        "merged_ticket_ids": [],
    }
    first_comment, *creates = created["child_events"]
    assert first_comment == {
        **comment[0],
        "via_reference_id": None,
        "event_type": "Comment",
    }
    assert {"id", "type", "author_id", "body", "html_body", "public", "attachments"} <= set(
        first_comment
    )
    assert [(c["event_type"], c["field_name"], c[c["field_name"]]) for c in creates] == [
        ("Create", "subject", "SMS"),
        ("Create", "status", "new"),
        ("Create", "requester_id", ticket["requester_id"]),
        ("Create", "brand_id", 360001),
        ("Create", "tags", ["sms"]),
    ]
    assert all(c["via"] == "Web service" and isinstance(c["id"], int) for c in creates)

    assert replied["id"] == reply.json()["audit"]["id"]
    assert (replied["updater_id"], replied["timestamp"]) == (2, T0 + 5)
    reply_comment, *changes = replied["child_events"]
    assert (reply_comment["id"], reply_comment["body"], reply_comment["author_id"]) == (
        comment[1]["id"],
        "It ships today.",
        2,
    )
    assert [c for c in changes if c["field_name"] == "status"] == [
        {
            "id": changes[0]["id"],
            "via": "Web service",
            "via_reference_id": None,
            "event_type": "Change",
            "field_name": "status",
            "status": "solved",
            "previous_value": "new",
        }
    ]
    assert {c["field_name"] for c in changes} == {"status", "assignee_id"}

    assert (closed["updater_id"], closed["via"]) == (-1, "Rule")
    assert [(c["status"], c["previous_value"]) for c in closed["child_events"]] == [
        ("closed", "solved")
    ]


async def test_without_the_sideload_a_comment_is_only_flagged(
    zendesk: httpx.AsyncClient, clock: list[float]
) -> None:
    ticket = await customer_ticket(zendesk)
    await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={"ticket": {"comment": {"body": "internal", "public": False, "author_id": 2}}},
    )
    await zendesk.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"subject": "SMS"}})
    clock[0] += 60
    created, noted = (await export(zendesk, T0))["ticket_events"]
    assert created["child_events"][0] | {"id": 0} == {
        "id": 0,
        "via": "Web service",
        "via_reference_id": None,
        "comment_present": True,
        "comment_public": True,
        "event_type": "Comment",
    }
    [note] = noted["child_events"]
    assert (note["comment_present"], note["comment_public"], "body" in note) == (
        True,
        False,
        False,
    )


async def test_the_last_minute_is_hidden_and_cannot_be_asked_for(
    zendesk: httpx.AsyncClient, clock: list[float]
) -> None:
    await customer_ticket(zendesk)
    too_recent = await zendesk.get(EVENTS, params={"start_time": T0 - 59})
    assert too_recent.status_code == 400
    assert too_recent.json()["error"] == "InvalidValue"
    assert "start_time" in too_recent.json()["description"]
    missing = await zendesk.get(EVENTS)
    assert (missing.status_code, missing.json()["error"]) == (400, "InvalidValue")

    early = await export(zendesk, T0 - 60)
    assert (early["ticket_events"], early["count"], early["end_time"]) == ([], 0, T0 - 60)
    assert early["next_page"] == f"https://acme.zendesk.com{EVENTS}?start_time={T0 - 60}"
    clock[0] += 59
    assert (await export(zendesk, T0 - 60))["ticket_events"] == []
    clock[0] += 1
    assert len((await export(zendesk, T0 - 60))["ticket_events"]) == 1

    # A product test shortens the lag instead of waiting.
    await zendesk.post("/_sandbox/config", json={"incremental_lag_seconds": 0})
    await customer_ticket(zendesk)
    assert len((await export(zendesk, int(clock[0])))["ticket_events"]) == 1


async def test_ten_requests_a_minute_and_they_count_toward_the_account(
    zendesk: httpx.AsyncClient, clock: list[float]
) -> None:
    await zendesk.post("/_sandbox/config", json={"requests_per_minute": 12})
    for _ in range(10):
        await export(zendesk, T0 - 3600)
    clock[0] += 30
    limited = await zendesk.get(EVENTS, params={"start_time": T0 - 3600})
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "30")
    assert limited.json()["error"] == "APIRateLimitExceeded"
    # 11 requests so far count toward the account's 12, the refused one included.
    assert (await zendesk.get("/api/v2/users/me")).status_code == 200
    assert (await zendesk.get("/api/v2/users/me")).status_code == 429

    clock[0] += 30
    await export(zendesk, T0 - 3600)
    await zendesk.post(
        "/_sandbox/config",
        json={"incremental_requests_per_minute": None, "requests_per_minute": None},
    )
    for _ in range(20):
        await export(zendesk, T0 - 3600)


async def test_only_admins_may_export(zendesk: httpx.AsyncClient, zendesk_app: FastAPI) -> None:
    registered = await zendesk.post(
        "/_sandbox/oauth/clients",
        json={"identifier": "agent-app", "secret": "s3cret", "user_id": 2},
    )
    assert registered.status_code == 200
    grant = await zendesk.post(
        "/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": "agent-app",
            "client_secret": "s3cret",
            "scope": "read",
        },
        headers={"Authorization": ""},
    )
    agent = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    refused = await zendesk.get(EVENTS, params={"start_time": 0}, headers=agent)
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")

    # The static token (the fixture's) and the legacy API token act as the admin API user.
    assert (await zendesk.get(EVENTS, params={"start_time": 0})).status_code == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(zendesk_app),
        base_url="https://acme.zendesk.com",
        auth=("api@acme.example/token", "test-api-token"),
    ) as basic:
        answer = await basic.get("/api/v2/incremental/ticket_events", params={"start_time": 0})
    assert answer.status_code == 200


async def test_pages_of_a_thousand_oldest_first_repeating_their_edge(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI, clock: list[float]
) -> None:
    await zendesk.post("/_sandbox/config", json={"webhook_url": None})
    ticket = await customer_ticket(zendesk)
    for index in range(1100):  # three events a second
        clock[0] = T0 + 1 + index // 3
        status = "pending" if index % 2 == 0 else "open"
        await zendesk.post(f"/_sandbox/tickets/{ticket['id']}/status", json={"status": status})
    clock[0] += 61

    first = await export(zendesk, T0, include="comment_events")
    assert (first["count"], first["end_of_stream"]) == (1000, False)
    timestamps = [e["timestamp"] for e in first["ticket_events"]]
    assert timestamps == sorted(timestamps) and timestamps[0] == T0
    assert first["end_time"] == timestamps[-1]
    assert first["next_page"] == (
        f"https://acme.zendesk.com{EVENTS}?start_time={first['end_time']}&include=comment_events"
    )
    second = (await zendesk.get(first["next_page"])).json()
    assert second["end_of_stream"] is True
    assert second["next_page"].endswith(f"start_time={second['end_time']}&include=comment_events")

    first_ids = [e["id"] for e in first["ticket_events"]]
    second_ids = [e["id"] for e in second["ticket_events"]]
    repeated = set(first_ids) & set(second_ids)
    assert repeated, "the page edge comes twice"
    assert {e["timestamp"] for e in second["ticket_events"] if e["id"] in repeated} == {
        first["end_time"]
    }
    assert len(set(first_ids) | set(second_ids)) == 1101  # the create and 1100 changes


async def test_events_are_kept_in_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "zendesk.json"
    headers = {"Authorization": "Bearer sandbox-zendesk-oauth-token"}
    for step in ("create", "read"):
        app = create_zendesk_app(state_file=state_file)
        app.state.sandbox.clock = lambda step=step: T0 if step == "create" else T0 + 60
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="https://acme.zendesk.com"
        ) as client:
            if step == "create":
                body = {"ticket": {"comment": {"body": "kept"}}}
                await client.post("/api/v2/tickets", json=body, headers=headers)
            else:
                answer = await client.get(
                    "/api/v2/incremental/ticket_events",
                    params={"start_time": T0, "include": "comment_events"},
                    headers=headers,
                )
                [event] = answer.json()["ticket_events"]
                assert event["child_events"][0]["body"] == "kept"
        await app.state.sandbox.aclose()

"""The sandbox Zendesk's request limits as Zendesk enforces them (B14): the plan's limit on the
account, Update Ticket's own 100 a minute, the headers on every response, and 429 with
Retry-After past a limit. The clock is frozen, so each window is exactly what the test spent."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

UPDATE_LIMIT = "update_ticket_requests_per_minute"
UPDATE = {"ticket": {"comment": {"body": "again", "public": False}}}


def freeze(app: FastAPI) -> Any:
    state = app.state.sandbox
    now = state.clock()
    state.clock = lambda: now
    return state, now


async def new_ticket(zendesk: httpx.AsyncClient) -> int:
    created = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
    return int(created.json()["ticket"]["id"])


async def test_update_ticket_has_its_own_100_a_minute(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    state, now = freeze(zendesk_app)
    assert (await zendesk.get("/_sandbox/config")).json()[UPDATE_LIMIT] == 100
    # Spread over 4 tickets: each ticket's own 30 per 10 minutes is not what is tested here.
    tickets = [await new_ticket(zendesk) for _ in range(4)]
    statuses = [
        (await zendesk.put(f"/api/v2/tickets/{tickets[i % 4]}", json=UPDATE)).status_code
        for i in range(100)
    ]
    limited = await zendesk.put(f"/api/v2/tickets/{tickets[0]}.json", json=UPDATE)
    assert statuses == [200] * 100
    assert limited.status_code == 429
    assert limited.json()["error"] == "TooManyRequests"
    assert limited.headers["Retry-After"] == "60"
    assert limited.headers["ratelimit-limit"] == "100"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert limited.headers["ratelimit-reset"] == "60"
    # Other endpoints, creates included, are not held back by Update Ticket's limit.
    assert (await zendesk.get(f"/api/v2/tickets/{tickets[0]}")).status_code == 200
    assert (await new_ticket(zendesk)) > 0

    state.clock = lambda: now + 60
    assert (await zendesk.put(f"/api/v2/tickets/{tickets[0]}", json=UPDATE)).status_code == 200


async def test_the_update_limit_is_configurable_and_counts_toward_the_plan(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    freeze(zendesk_app)
    config = {"requests_per_minute": 5, "update_ticket_requests_per_minute": 2}
    assert (await zendesk.post("/_sandbox/config", json=config)).status_code == 200
    ticket = await new_ticket(zendesk)  # 1 of the plan's 5
    first = await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    second = await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    third = await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    assert first.headers["ratelimit-remaining"] == "1"
    assert first.headers["X-Rate-Limit"] == "5"
    assert first.headers["X-Rate-Limit-Remaining"] == "3"
    assert second.headers["X-Rate-Limit-Remaining"] == "2"
    # The refused update still spent a request of the plan, as Zendesk counts it.
    shown = await zendesk.get(f"/api/v2/tickets/{ticket}")
    assert shown.status_code == 200
    assert shown.headers["X-Rate-Limit-Remaining"] == "0"
    assert shown.headers["ratelimit-limit"] == "5"  # a ticket read: the account's window
    over = await zendesk.get("/api/v2/users/me")
    assert over.status_code == 429
    assert over.headers["X-Rate-Limit-Remaining"] == "0"
    assert "ratelimit-limit" not in over.headers  # users are not a Ticketing endpoint


async def test_every_response_carries_the_account_headers(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    freeze(zendesk_app)
    await zendesk.post("/_sandbox/config", json={"requests_per_minute": 700})
    me = await zendesk.get("/api/v2/users/me")
    missing = await zendesk.get("/api/v2/tickets/999999")
    created = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
    assert [r.status_code for r in (me, missing, created)] == [200, 404, 201]
    assert [r.headers["X-Rate-Limit"] for r in (me, missing, created)] == ["700"] * 3
    assert [r.headers["X-Rate-Limit-Remaining"] for r in (me, missing, created)] == [
        "699",
        "698",
        "697",
    ]
    assert created.headers["ratelimit-remaining"] == "697"
    assert created.headers["ratelimit-reset"] == "60"


async def test_a_ticket_past_its_30_updates_says_so_with_room_left_in_both_windows(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    """What lets a client tell one hot ticket from a spent budget: the windows have room."""
    freeze(zendesk_app)
    await zendesk.post("/_sandbox/config", json={"requests_per_minute": 700})
    ticket = await new_ticket(zendesk)
    for _ in range(30):
        assert (await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)).status_code == 200
    limited = await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "600"
    assert int(limited.headers["ratelimit-remaining"]) > 0
    assert int(limited.headers["X-Rate-Limit-Remaining"]) > 0


async def test_the_request_log_holds_every_answer_with_its_time_and_status(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    _, now = freeze(zendesk_app)
    await zendesk.post("/_sandbox/config", json={"update_ticket_requests_per_minute": 1})
    ticket = await new_ticket(zendesk)
    await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    await zendesk.put(f"/api/v2/tickets/{ticket}", json=UPDATE)
    log = (await zendesk.get("/_sandbox/requests")).json()["requests"]
    assert [(r["method"], r["route"], r["status"]) for r in log] == [
        ("POST", "/api/v2/tickets", 201),
        ("PUT", "/api/v2/tickets/{ticket_id}", 200),
        ("PUT", "/api/v2/tickets/{ticket_id}", 429),
    ]
    assert {r["at"] for r in log} == {now}
    await zendesk.post("/_sandbox/reset")
    assert (await zendesk.get("/_sandbox/requests")).json()["requests"] == []
    assert (await zendesk.get("/_sandbox/config")).json()[UPDATE_LIMIT] == 100


async def test_an_injected_429_carries_no_rate_limit_headers(zendesk: httpx.AsyncClient) -> None:
    """A spike refused below the limits, as Zendesk sometimes does: Retry-After only."""
    await zendesk.post("/_sandbox/config", json={"requests_per_minute": 700})
    await zendesk.post("/_sandbox/faults", json={"status": 429, "retry_after": 3})
    refused = await zendesk.get("/api/v2/users/me")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert "X-Rate-Limit-Remaining" not in refused.headers

"""Fault injection and request counters, shared by the three sandboxes."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI


async def test_rate_limit_fault_answers_429_with_retry_after(zendesk: httpx.AsyncClient) -> None:
    armed = await zendesk.post(
        "/_sandbox/faults", json={"status": 429, "count": 2, "retry_after": 7}
    )
    assert armed.status_code == 200
    first, second, third = [await zendesk.get("/api/v2/users/me") for _ in range(3)]
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert first.json()["error"] == "TooManyRequests"
    assert second.status_code == 429
    assert third.status_code == 200
    stats = (await zendesk.get("/_sandbox/stats")).json()
    assert stats["faults_injected"] == {"429": 2}
    assert stats["requests"] == {"GET /api/v2/users/me": 3}


async def test_path_filter_and_server_errors(zendesk: httpx.AsyncClient) -> None:
    await zendesk.post("/_sandbox/faults", json={"status": 500, "path_contains": "/tickets"})
    assert (await zendesk.get("/api/v2/users/me")).status_code == 200
    failed = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
    assert failed.status_code == 500
    assert "Retry-After" not in failed.headers
    assert (await zendesk.get("/_sandbox/tickets")).json()["tickets"] == [], "nothing was created"
    created = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
    assert created.status_code == 201


async def test_probability_fault_stays_until_cleared(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    zendesk_app.state.sandbox.rng.seed(7)
    await zendesk.post("/_sandbox/faults", json={"status": 503, "probability": 0.5})
    statuses = [(await zendesk.get("/api/v2/users/me")).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    injected = (await zendesk.get("/_sandbox/stats")).json()["faults_injected"]
    assert injected == {"503": statuses.count(503)}

    assert (await zendesk.delete("/_sandbox/faults")).json() == {"faults": []}
    assert {(await zendesk.get("/api/v2/users/me")).status_code for _ in range(10)} == {200}


async def test_slow_fault_only_delays(zendesk: httpx.AsyncClient) -> None:
    await zendesk.post("/_sandbox/faults", json={"delay_ms": 150})
    started = time.monotonic()
    response = await zendesk.get("/api/v2/users/me")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.15
    assert (await zendesk.get("/_sandbox/stats")).json()["faults_injected"] == {"delay": 1}


async def test_control_routes_are_never_faulted(zendesk: httpx.AsyncClient) -> None:
    await zendesk.post("/_sandbox/faults", json={"status": 503})
    assert (await zendesk.get("/_sandbox/tickets")).status_code == 200
    faults = (await zendesk.get("/_sandbox/faults")).json()["faults"]
    assert [(f["status"], f["remaining"]) for f in faults] == [(503, 1)]
    assert (await zendesk.get("/_sandbox/stats")).json()["requests"] == {}


async def test_a_fault_needs_a_status_or_a_delay(zendesk: httpx.AsyncClient) -> None:
    assert (await zendesk.post("/_sandbox/faults", json={"count": 2})).status_code == 422
    assert (await zendesk.post("/_sandbox/faults", json={"status": 418})).status_code == 422


async def test_faults_speak_each_service_dialect(
    twilio: httpx.AsyncClient, klaviyo: httpx.AsyncClient
) -> None:
    await twilio.post("/_sandbox/faults", json={"status": 503})
    failed = await twilio.get(
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    )
    assert failed.status_code == 503
    assert failed.json()["code"] == 20503

    await klaviyo.post("/_sandbox/faults", json={"status": 429, "retry_after": 3})
    throttled = await klaviyo.get("/api/profiles")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    assert throttled.json()["errors"][0]["code"] == "throttled"

"""Klaviyo sandbox: authentication, profile look-ups with consent, and the Events API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.sandbox.helpers import assert_conforms

JSON_API = "application/vnd.api+json"


def event(
    metric: str = "Opened Ticket", unique_id: str | None = "zendesk:1001:opened", **profile: str
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "properties": {"Ticket ID": 1001, "Subject": "Where is my order?"},
        "time": "2026-11-21T06:00:00+00:00",
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {
            "data": {"type": "profile", "attributes": profile or {"phone_number": "+15551230001"}}
        },
    }
    if unique_id is not None:
        attributes["unique_id"] = unique_id
    return {"data": {"type": "event", "attributes": attributes}}


async def post_event(klaviyo: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await klaviyo.post("/api/events", json=body, headers={"Content-Type": JSON_API})


async def test_refuses_a_wrong_key(klaviyo_app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(klaviyo_app),
        base_url="https://a.klaviyo.com",
        headers={"Authorization": "Klaviyo-API-Key pk_wrong", "revision": "2026-07-15"},
    ) as client:
        response = await client.get("/api/profiles")
    assert response.status_code == 401
    [error] = response.json()["errors"]
    expected = {
        "status": 401,
        "code": "not_authenticated",
        "title": "Authentication credentials were not provided.",
        "source": {"pointer": "/data/"},
    }
    assert expected.items() <= error.items()
    assert error["id"] and error["detail"]


@pytest.mark.parametrize("revision", [None, "", "latest"])
async def test_the_revision_header_is_required(klaviyo_app: FastAPI, revision: str | None) -> None:
    headers = {"Authorization": "Klaviyo-API-Key pk_test"}
    if revision is not None:
        headers["revision"] = revision
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(klaviyo_app),
        base_url="https://a.klaviyo.com",
        headers=headers,
    ) as client:
        response = await client.get("/api/profiles")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["source"]) == ("invalid", {"parameter": "revision"})
    assert response.headers["content-type"].startswith(JSON_API)


async def test_profile_by_phone_with_sms_consent(klaviyo: httpx.AsyncClient) -> None:
    response = await klaviyo.get(
        "/api/profiles",
        params={
            "filter": 'equals(phone_number,"+15551230001")',
            "additional-fields[profile]": "subscriptions",
        },
    )
    assert response.status_code == 200
    [profile] = response.json()["data"]
    assert profile["type"] == "profile" and len(profile["id"]) == 26
    attributes = profile["attributes"]
    assert (attributes["email"], attributes["first_name"]) == ("sam@example.com", "Sam")
    sms = attributes["subscriptions"]["sms"]
    assert sms["marketing"]["can_receive_sms_marketing"] is True
    assert sms["marketing"]["consent"] == "SUBSCRIBED"
    assert sms["marketing"]["consent_timestamp"] is not None
    assert sms["transactional"] | {"consent_timestamp": None, "last_updated": None} == {
        "can_receive_sms_transactional": True,
        "consent": "SUBSCRIBED",
        "consent_timestamp": None,
        "last_updated": None,
        "method": "API",
        "method_detail": "",
    }
    assert_conforms("klaviyo", "GET", "/api/profiles", 200, response.json(), media=JSON_API)


async def test_subscriptions_only_when_asked_and_other_consents(klaviyo: httpx.AsyncClient) -> None:
    plain = await klaviyo.get(
        "/api/profiles", params={"filter": 'equals(phone_number,"+15551230002")'}
    )
    [profile] = plain.json()["data"]
    assert "subscriptions" not in profile["attributes"]
    detailed = await klaviyo.get(
        f"/api/profiles/{profile['id']}", params={"additional-fields[profile]": "subscriptions"}
    )
    sms = detailed.json()["data"]["attributes"]["subscriptions"]["sms"]
    assert (sms["marketing"]["consent"], sms["marketing"]["can_receive_sms_marketing"]) == (
        "UNSUBSCRIBED",
        False,
    )
    assert sms["transactional"]["consent"] == "NEVER_SUBSCRIBED"
    assert sms["transactional"]["consent_timestamp"] is None


@pytest.mark.parametrize(
    ("expression", "count"),
    [
        ('equals(email,"sam@example.com")', 1),
        ('equals(email,"nobody@example.com")', 0),
        ('any(phone_number,["+15551230001","+15551230002"])', 2),
        ('equals(phone_number,"+15551230001"),equals(email,"other@example.com")', 0),
    ],
)
async def test_profile_filters(klaviyo: httpx.AsyncClient, expression: str, count: int) -> None:
    response = await klaviyo.get("/api/profiles", params={"filter": expression})
    assert len(response.json()["data"]) == count


@pytest.mark.parametrize(
    "expression", ['equals(city,"Paris")', "equals(email,sam)", 'any(email,"x")']
)
async def test_bad_filters_are_refused(klaviyo: httpx.AsyncClient, expression: str) -> None:
    response = await klaviyo.get("/api/profiles", params={"filter": expression})
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == {"parameter": "filter"}


async def test_events_are_accepted_with_202_and_stored(klaviyo: httpx.AsyncClient) -> None:
    response = await post_event(klaviyo, event())
    assert (response.status_code, response.content) == (202, b"")
    [stored] = (await klaviyo.get("/_sandbox/events")).json()["events"]
    profiles = (await klaviyo.get("/_sandbox/profiles")).json()["profiles"]
    sam = next(p for p in profiles if p["attributes"]["phone_number"] == "+15551230001")
    assert (stored["metric"], stored["profile_id"], stored["unique_id"]) == (
        "Opened Ticket",
        sam["id"],
        "zendesk:1001:opened",
    )
    assert stored["properties"] == {"Ticket ID": 1001, "Subject": "Where is my order?"}


async def test_unique_id_makes_events_exactly_once(klaviyo: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await post_event(klaviyo, event())).status_code == 202
    assert (await post_event(klaviyo, event("Resolved Ticket"))).status_code == 202
    assert (await post_event(klaviyo, event(unique_id=None))).status_code == 202
    assert (await post_event(klaviyo, event(unique_id=None))).status_code == 202
    metrics = [e["metric"] for e in (await klaviyo.get("/_sandbox/events")).json()["events"]]
    assert metrics == ["Opened Ticket", "Resolved Ticket", "Opened Ticket", "Opened Ticket"]
    resolved = (await klaviyo.get("/_sandbox/events?metric=Resolved Ticket")).json()["events"]
    assert len(resolved) == 1


async def test_an_event_creates_an_unknown_profile(klaviyo: httpx.AsyncClient) -> None:
    assert (
        await post_event(klaviyo, event(email="new@example.com", first_name="Nia"))
    ).status_code == 202
    found = await klaviyo.get("/api/profiles", params={"filter": 'equals(email,"new@example.com")'})
    [profile] = found.json()["data"]
    assert profile["attributes"]["first_name"] == "Nia"
    assert profile["attributes"]["last_event_date"] is not None


async def test_an_invalid_phone_number_is_refused(klaviyo: httpx.AsyncClient) -> None:
    response = await post_event(klaviyo, event(phone_number="555-1234"))
    assert response.status_code == 400
    assert "phone number" in response.json()["errors"][0]["detail"]
    assert (await klaviyo.get("/_sandbox/events")).json()["events"] == []


async def test_profiles_can_be_seeded_and_reset(klaviyo: httpx.AsyncClient) -> None:
    seeded = await klaviyo.post(
        "/_sandbox/profiles",
        json={"phone_number": "+15551230009", "sms_transactional": "SUBSCRIBED"},
    )
    assert seeded.status_code == 200
    assert (
        seeded.json()["profile"]["attributes"]["subscriptions"]["sms"]["transactional"]["consent"]
        == "SUBSCRIBED"
    )
    assert (await klaviyo.post("/_sandbox/profiles", json={"first_name": "x"})).status_code == 422
    await post_event(klaviyo, event())
    await klaviyo.post("/_sandbox/reset")
    phones = [
        p["attributes"]["phone_number"]
        for p in (await klaviyo.get("/_sandbox/profiles")).json()["profiles"]
    ]
    assert phones == ["+15551230001", "+15551230002"]
    assert (await klaviyo.get("/_sandbox/events")).json()["events"] == []

"""Zendesk sandbox: authentication, the ticket lifecycle and Zendesk's ticket rules."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.sandbox.helpers import assert_conforms


def new_ticket(body: str = "Where is my order?", **fields: Any) -> dict[str, Any]:
    return {"ticket": {"subject": "SMS from +15551230001", "comment": {"body": body}, **fields}}


async def create(zendesk: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await zendesk.post("/api/v2/tickets", json=new_ticket(**fields))
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        "Basic " + base64.b64encode(b"api@acme.example:password").decode(),
    ],
)
async def test_refuses_requests_without_valid_credentials(
    zendesk_app: FastAPI, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(zendesk_app), base_url="https://acme.zendesk.com"
    ) as client:
        response = await client.get("/api/v2/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


async def test_accepts_the_legacy_api_token(zendesk_app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(zendesk_app),
        base_url="https://acme.zendesk.com",
        auth=("api@acme.example/token", "test-api-token"),
    ) as client:
        response = await client.get("/api/v2/users/me.json")
    assert response.status_code == 200
    assert {"id": 1, "name": "smsdesk API", "role": "admin"}.items() <= response.json()[
        "user"
    ].items()


async def test_created_ticket_reads_back_with_its_first_comment(zendesk: httpx.AsyncClient) -> None:
    requester = await zendesk.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "+15551230001", "external_id": "sms:+15551230001"}},
    )
    requester_id = requester.json()["user"]["id"]
    response = await zendesk.post(
        "/api/v2/tickets",
        json=new_ticket(requester_id=requester_id, brand_id=360002, tags=["sms", "SMS"]),
    )
    assert response.status_code == 201
    assert response.headers["Location"].endswith(
        f"/api/v2/tickets/{response.json()['ticket']['id']}.json"
    )
    created = response.json()["ticket"]
    assert created["status"] == "new"
    assert created["description"] == "Where is my order?"
    assert created["requester_id"] == requester_id
    assert created["submitter_id"] == 1
    assert created["brand_id"] == 360002
    assert created["tags"] == ["sms"]
    assert created["via"]["channel"] == "api"

    shown = await zendesk.get(f"/api/v2/tickets/{created['id']}.json")
    assert shown.json()["ticket"] == created
    comments = (await zendesk.get(f"/api/v2/tickets/{created['id']}/comments")).json()
    assert comments["count"] == 1
    expected = {"type": "Comment", "author_id": 1, "body": "Where is my order?", "public": True}
    assert expected.items() <= comments["comments"][0].items()


async def test_unknown_ticket_is_record_not_found(zendesk: httpx.AsyncClient) -> None:
    response = await zendesk.get("/api/v2/tickets/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}


async def test_status_follows_assignment(zendesk: httpx.AsyncClient) -> None:
    assert (await create(zendesk, assignee_id=2))["status"] == "open"
    response = await zendesk.post("/api/v2/tickets", json=new_ticket(assignee_id=10001))
    assert response.status_code == 422


async def test_agent_reply_and_solve_is_one_update(zendesk: httpx.AsyncClient) -> None:
    ticket = await create(zendesk)
    response = await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={
            "ticket": {
                "comment": {"body": "On its way!", "public": True, "author_id": 2},
                "status": "solved",
                "additional_tags": ["replied"],
            }
        },
    )
    assert response.status_code == 200
    updated = response.json()["ticket"]
    assert updated["status"] == "solved"
    assert updated["assignee_id"] == 2, "solving assigns the ticket to the replying agent"
    assert updated["tags"] == ["replied"]
    events = response.json()["audit"]["events"]
    assert [e["type"] for e in events] == ["Comment", "Change"]
    change = {"field_name": "status", "value": "solved", "previous_value": "new"}
    assert change.items() <= events[1].items()
    comments = (
        await zendesk.get(f"/api/v2/tickets/{ticket['id']}/comments?sort_order=desc")
    ).json()
    assert [c["author_id"] for c in comments["comments"]] == [2, 1]


async def test_requester_reply_reopens_a_solved_ticket(zendesk: httpx.AsyncClient) -> None:
    user = await zendesk.post("/api/v2/users/create_or_update", json={"user": {"name": "Cus"}})
    customer = user.json()["user"]["id"]
    ticket = await create(zendesk, requester_id=customer, status="solved", assignee_id=2)
    response = await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={
            "ticket": {"comment": {"body": "Still broken", "public": True, "author_id": customer}}
        },
    )
    assert response.json()["ticket"]["status"] == "open"


async def test_closed_ticket_refuses_updates(zendesk: httpx.AsyncClient) -> None:
    ticket = await create(zendesk)
    await zendesk.post(f"/_sandbox/tickets/{ticket['id']}/status", json={"status": "closed"})
    response = await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={"ticket": {"comment": {"body": "hello?", "public": True}}},
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
    }
    shown = (await zendesk.get(f"/_sandbox/tickets/{ticket['id']}")).json()["ticket"]
    assert len(shown["comments"]) == 1, "the refused comment was not added"


async def test_refused_update_changes_nothing(zendesk: httpx.AsyncClient) -> None:
    ticket = await create(zendesk)
    response = await zendesk.put(
        f"/api/v2/tickets/{ticket['id']}",
        json={"ticket": {"comment": {"body": "x", "public": True}, "assignee_id": 424242}},
    )
    assert response.status_code == 422
    shown = (await zendesk.get(f"/_sandbox/tickets/{ticket['id']}")).json()["ticket"]
    assert len(shown["comments"]) == 1


async def test_idempotency_key_replays_the_first_create(zendesk: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "sms-SM123"}
    first = await zendesk.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    again = await zendesk.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    assert (first.status_code, first.headers["x-idempotency-lookup"]) == (201, "miss")
    assert (again.status_code, again.headers["x-idempotency-lookup"]) == (201, "hit")
    assert again.json() == first.json()
    assert len((await zendesk.get("/_sandbox/tickets")).json()["tickets"]) == 1

    conflict = await zendesk.post("/api/v2/tickets", json=new_ticket("other"), headers=headers)
    assert conflict.status_code == 400
    assert conflict.json()["error"] == "IdempotentRequestError"


async def test_idempotency_key_expires_after_two_hours(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    state = zendesk_app.state.sandbox
    start = state.clock()
    headers = {"Idempotency-Key": "k"}
    first = await zendesk.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    state.clock = lambda: start + 2 * 3600 + 1
    later = await zendesk.post("/api/v2/tickets", json=new_ticket(), headers=headers)
    assert later.headers["x-idempotency-lookup"] == "miss"
    assert later.json()["ticket"]["id"] != first.json()["ticket"]["id"]


async def test_follow_up_only_for_a_closed_ticket(zendesk: httpx.AsyncClient) -> None:
    source = await create(zendesk)
    refused = await zendesk.post(
        "/api/v2/tickets", json=new_ticket(via_followup_source_id=source["id"])
    )
    assert refused.status_code == 422
    assert "via_followup_source_id" in refused.json()["details"]

    await zendesk.post(f"/_sandbox/tickets/{source['id']}/status", json={"status": "closed"})
    follow_up = await create(zendesk, via_followup_source_id=source["id"])
    assert follow_up["via"]["source"]["rel"] == "follow_up"
    assert follow_up["via"]["source"]["from"]["ticket_id"] == source["id"]
    shown = (await zendesk.get(f"/api/v2/tickets/{source['id']}")).json()["ticket"]
    assert shown["followup_ids"] == [follow_up["id"]]
    assert shown["status"] == "closed"


async def test_thirty_updates_per_ticket_per_ten_minutes(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    state = zendesk_app.state.sandbox
    now = state.clock()
    state.clock = lambda: now
    ticket = await create(zendesk)
    update = {"ticket": {"comment": {"body": "again", "public": False}}}
    for _ in range(30):
        assert (
            await zendesk.put(f"/api/v2/tickets/{ticket['id']}", json=update)
        ).status_code == 200
    limited = await zendesk.put(f"/api/v2/tickets/{ticket['id']}", json=update)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "600"
    other = await create(zendesk)
    assert (await zendesk.put(f"/api/v2/tickets/{other['id']}", json=update)).status_code == 200

    state.clock = lambda: now + 601
    assert (await zendesk.put(f"/api/v2/tickets/{ticket['id']}", json=update)).status_code == 200


async def test_account_rate_limit_when_configured(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    state = zendesk_app.state.sandbox
    now = state.clock()
    state.clock = lambda: now
    assert (
        await zendesk.post("/_sandbox/config", json={"requests_per_minute": 3})
    ).status_code == 200
    statuses = [(await zendesk.get("/api/v2/users/me")).status_code for _ in range(3)]
    limited = await zendesk.get("/api/v2/users/me")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    state.clock = lambda: now + 60
    assert (await zendesk.get("/api/v2/users/me")).status_code == 200


async def test_config_refuses_unknown_or_invalid_settings(zendesk: httpx.AsyncClient) -> None:
    assert (
        await zendesk.post("/_sandbox/config", json={"requests_per_minit": 3})
    ).status_code == 400
    assert (
        await zendesk.post("/_sandbox/config", json={"duplicate_probability": 2})
    ).status_code == 400
    config = (await zendesk.get("/_sandbox/config")).json()
    assert config["requests_per_minute"] is None
    assert config["duplicate_probability"] == 0


async def test_responses_match_the_official_schemas(zendesk: httpx.AsyncClient) -> None:
    created = await zendesk.post(
        "/api/v2/tickets", json=new_ticket(priority="high", type="question")
    )
    assert_conforms("zendesk", "POST", "/api/v2/tickets", 201, created.json())
    ticket_id = created.json()["ticket"]["id"]
    updated = await zendesk.put(
        f"/api/v2/tickets/{ticket_id}",
        json={
            "ticket": {
                "comment": {"body": "ok", "public": True, "author_id": 2},
                "status": "solved",
            }
        },
    )
    assert_conforms("zendesk", "PUT", f"/api/v2/tickets/{ticket_id}", 200, updated.json())
    for path in [
        f"/api/v2/tickets/{ticket_id}/comments",
        "/api/v2/users/me",
        "/api/v2/users/2",
        "/api/v2/users/show_many?ids=1,2",
        "/api/v2/brands",
        "/api/v2/brands/360001",
        "/api/v2/groups/20001",
        "/api/v2/ticket_fields",
        "/api/v2/incremental/tickets/cursor?start_time=0",
    ]:
        response = await zendesk.get(path)
        assert response.status_code == 200, path
        assert_conforms("zendesk", "GET", path.split("?")[0], 200, response.json())

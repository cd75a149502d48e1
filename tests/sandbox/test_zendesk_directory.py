"""Zendesk sandbox: users, uploads, the incremental export, persistence and reset."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from fastapi import FastAPI

from sandbox.zendesk import create_zendesk_app


async def upsert(zendesk: httpx.AsyncClient, **user: str) -> httpx.Response:
    return await zendesk.post("/api/v2/users/create_or_update", json={"user": user})


async def test_create_or_update_matches_external_id_then_email_never_phone(
    zendesk: httpx.AsyncClient,
) -> None:
    created = await upsert(
        zendesk, name="+15551230001", external_id="sms:+15551230001", phone="+15551230001"
    )
    assert created.status_code == 201
    user = created.json()["user"]
    assert (user["role"], user["phone"]) == ("end-user", "+15551230001")

    renamed = await upsert(
        zendesk, name="Sam", external_id="sms:+15551230001", email="sam@x.example"
    )
    assert renamed.status_code == 200
    assert renamed.json()["user"]["id"] == user["id"]
    assert renamed.json()["user"]["name"] == "Sam"

    by_email = await upsert(zendesk, name="Samantha", email="sam@x.example")
    assert (by_email.status_code, by_email.json()["user"]["id"]) == (200, user["id"])

    same_phone = await upsert(zendesk, name="Other", phone="+15551230001")
    assert same_phone.status_code == 201, "Zendesk never matches users by phone"


async def test_email_of_another_user_is_refused(zendesk: httpx.AsyncClient) -> None:
    await upsert(zendesk, name="A", external_id="a")
    refused = await upsert(zendesk, name="A", external_id="a", email="alex@acme.example")
    assert refused.status_code == 422
    assert "email" in refused.json()["details"]


async def test_users_can_be_read_back(zendesk: httpx.AsyncClient) -> None:
    me = (await zendesk.get("/api/v2/users/me")).json()["user"]
    assert (me["id"], me["email"], me["role"]) == (1, "api@acme.example", "admin")
    agent = (await zendesk.get("/api/v2/users/2")).json()["user"]
    assert (agent["name"], agent["email"], agent["role"]) == (
        "Alex Agent",
        "alex@acme.example",
        "agent",
    )
    many = (await zendesk.get("/api/v2/users/show_many.json?ids=1,2,424242")).json()
    assert [u["id"] for u in many["users"]] == [1, 2]
    assert (await zendesk.get("/api/v2/users/424242")).status_code == 404


async def test_account_seed(zendesk: httpx.AsyncClient) -> None:
    brands = (await zendesk.get("/api/v2/brands.json")).json()["brands"]
    assert [(b["id"], b["name"], b["default"]) for b in brands] == [
        (360001, "Acme", True),
        (360002, "Acme SMS", False),
    ]
    assert (await zendesk.get("/api/v2/groups/20001")).json()["group"]["name"] == "Support"
    fields = (await zendesk.get("/api/v2/ticket_fields")).json()["ticket_fields"]
    assert [(f["id"], f["title"], f["type"]) for f in fields] == [(9001, "Order number", "text")]
    assert (await zendesk.get("/api/v2/brands/1")).status_code == 404


async def test_uploads_attach_to_a_comment(zendesk: httpx.AsyncClient) -> None:
    uploaded = await zendesk.post(
        "/api/v2/uploads.json?filename=photo.jpg",
        content=b"\xff\xd8jpeg",
        headers={"Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 201
    token = uploaded.json()["upload"]["token"]
    created = await zendesk.post(
        "/api/v2/tickets",
        json={"ticket": {"comment": {"body": "see photo", "uploads": [token]}}},
    )
    ticket_id = created.json()["ticket"]["id"]
    comments = (await zendesk.get(f"/api/v2/tickets/{ticket_id}/comments")).json()["comments"]
    attachment = comments[0]["attachments"][0]
    assert (attachment["file_name"], attachment["content_type"], attachment["size"]) == (
        "photo.jpg",
        "image/jpeg",
        6,
    )
    unknown = await zendesk.post(
        "/api/v2/tickets", json={"ticket": {"comment": {"body": "x", "uploads": ["nope"]}}}
    )
    assert unknown.status_code == 422


async def test_incremental_export_pages_by_cursor(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    state = zendesk_app.state.sandbox
    start = int(state.clock())
    ids = []
    for offset in range(3):
        state.clock = lambda offset=offset: start + offset
        created = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
        ids.append(created.json()["ticket"]["id"])

    page = (
        await zendesk.get(f"/api/v2/incremental/tickets/cursor.json?start_time={start}&per_page=2")
    ).json()
    assert [t["id"] for t in page["tickets"]] == ids[:2]
    assert page["end_of_stream"] is False
    rest = (
        await zendesk.get(f"/api/v2/incremental/tickets/cursor?cursor={page['after_cursor']}")
    ).json()
    assert [t["id"] for t in rest["tickets"]] == ids[2:]
    assert rest["end_of_stream"] is True

    state.clock = lambda: start + 10
    await zendesk.put(f"/api/v2/tickets/{ids[0]}", json={"ticket": {"status": "open"}})
    changed = (
        await zendesk.get(f"/api/v2/incremental/tickets/cursor?cursor={rest['after_cursor']}")
    ).json()
    assert [t["id"] for t in changed["tickets"]] == [ids[0]], "an updated ticket comes round again"
    empty = (
        await zendesk.get(f"/api/v2/incremental/tickets/cursor?cursor={changed['after_cursor']}")
    ).json()
    assert (empty["tickets"], empty["after_cursor"]) == ([], changed["after_cursor"])

    assert (await zendesk.get("/api/v2/incremental/tickets/cursor")).status_code == 400
    bad = base64.urlsafe_b64encode(b"nonsense").decode()
    assert (
        await zendesk.get(f"/api/v2/incremental/tickets/cursor?cursor={bad}")
    ).status_code == 400


async def test_state_file_keeps_tickets_across_restarts(tmp_path: Path) -> None:
    state_file = tmp_path / "zendesk.json"
    headers = {"Authorization": "Bearer sandbox-zendesk-oauth-token"}

    async def client(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="https://acme.zendesk.com", headers=headers
        )

    first = create_zendesk_app(state_file=state_file)
    async with await client(first) as zendesk:
        created = await zendesk.post(
            "/api/v2/tickets",
            json={"ticket": {"comment": {"body": "kept"}}},
            headers={"Idempotency-Key": "k"},
        )
    assert state_file.exists()

    second = create_zendesk_app(state_file=state_file)
    async with await client(second) as zendesk:
        ticket_id = created.json()["ticket"]["id"]
        shown = await zendesk.get(f"/api/v2/tickets/{ticket_id}")
        assert shown.json()["ticket"]["description"] == "kept"
        replay = await zendesk.post(
            "/api/v2/tickets",
            json={"ticket": {"comment": {"body": "kept"}}},
            headers={"Idempotency-Key": "k"},
        )
        assert replay.headers["x-idempotency-lookup"] == "hit"
        later = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "new"}}})
        assert later.json()["ticket"]["id"] == ticket_id + 1


async def test_reset_returns_to_the_seeded_account(zendesk: httpx.AsyncClient) -> None:
    await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
    await zendesk.post("/_sandbox/faults", json={"status": 500, "count": 5})
    await zendesk.post("/_sandbox/config", json={"requests_per_minute": 1000})
    await zendesk.post("/_sandbox/reset")
    assert (await zendesk.get("/_sandbox/tickets")).json()["tickets"] == []
    assert (await zendesk.get("/_sandbox/faults")).json()["faults"] == []
    assert (await zendesk.get("/_sandbox/config")).json()["requests_per_minute"] is None
    assert len((await zendesk.get("/_sandbox/users")).json()["users"]) == 2
    created = await zendesk.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "x"}}})
    assert created.json()["ticket"]["id"] == 1001

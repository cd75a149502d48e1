"""Zendesk sandbox: a write's `metadata` kept on its audit (as `metadata.custom`, beside
Zendesk's own `system` part) and `GET /api/v2/tickets/{id}/audits`, as the real API does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import assert_conforms


async def _ticket_with_notes(zendesk: httpx.AsyncClient, notes: int) -> int:
    created = await zendesk.post(
        "/api/v2/tickets",
        json={"ticket": {"comment": {"body": "Where is my order?"}, "metadata": {"ref": "c"}}},
    )
    assert created.status_code == 201, created.text
    ticket_id: int = created.json()["ticket"]["id"]
    for n in range(notes):
        updated = await zendesk.put(
            f"/api/v2/tickets/{ticket_id}",
            json={
                "ticket": {
                    "comment": {"body": f"note {n}", "public": False},
                    "metadata": {"ref": n},
                }
            },
        )
        assert updated.status_code == 200, updated.text
    return ticket_id


def _refs(page: dict[str, Any]) -> list[Any]:
    return [audit["metadata"]["custom"].get("ref") for audit in page["audits"]]


async def test_metadata_given_on_create_and_update_is_the_audits_custom_part(
    zendesk: httpx.AsyncClient,
) -> None:
    created = await zendesk.post(
        "/api/v2/tickets",
        json={"ticket": {"comment": {"body": "Hi"}, "metadata": {"smsdesk_ref": "SM1"}}},
    )
    audit = created.json()["audit"]
    assert audit["metadata"]["custom"] == {"smsdesk_ref": "SM1"}
    assert audit["metadata"]["system"]["client"]  # Zendesk notes the client and IP itself
    assert "metadata" not in created.json()["ticket"]  # write-only: never read back on it
    assert_conforms("zendesk", "POST", "/api/v2/tickets", 201, created.json())
    ticket_id = created.json()["ticket"]["id"]
    updated = await zendesk.put(
        f"/api/v2/tickets/{ticket_id}",
        json={"ticket": {"status": "pending", "metadata": {"smsdesk_ref": "n1"}}},
    )
    assert updated.json()["audit"]["metadata"]["custom"] == {"smsdesk_ref": "n1"}
    assert_conforms("zendesk", "PUT", f"/api/v2/tickets/{ticket_id}", 200, updated.json())
    comments = (await zendesk.get(f"/api/v2/tickets/{ticket_id}/comments")).json()["comments"]
    assert [c["body"] for c in comments] == ["Hi"]  # the body is exactly what was sent


async def test_audits_list_each_write_with_its_comment_and_changes(
    zendesk: httpx.AsyncClient,
) -> None:
    ticket_id = await _ticket_with_notes(zendesk, 1)
    await zendesk.put(f"/api/v2/tickets/{ticket_id}", json={"ticket": {"status": "solved"}})
    response = await zendesk.get(f"/api/v2/tickets/{ticket_id}/audits.json")
    assert response.status_code == 200
    assert_conforms("zendesk", "GET", f"/api/v2/tickets/{ticket_id}/audits", 200, response.json())
    audits = response.json()["audits"]
    assert _refs(response.json()) == ["c", 0, None]  # oldest first by default
    assert {"id", "ticket_id", "created_at", "author_id", "metadata", "events"} <= audits[0].keys()
    assert audits[0]["ticket_id"] == ticket_id
    assert (
        audits[1]["events"][0] | {"type": "Comment", "body": "note 0", "public": False}
        == (audits[1]["events"][0])
    )
    change = audits[2]["events"][0]
    assert (change["type"], change["field_name"], change["value"]) == ("Change", "status", "solved")
    assert response.json()["count"] == 3
    missing = await zendesk.get("/api/v2/tickets/999999/audits")
    assert missing.status_code == 404


async def test_audits_page_by_cursor_newest_first(zendesk: httpx.AsyncClient) -> None:
    ticket_id = await _ticket_with_notes(zendesk, 4)
    path = f"/api/v2/tickets/{ticket_id}/audits"
    first = await zendesk.get(path, params={"sort_order": "desc", "page[size]": 2})
    assert _refs(first.json()) == [3, 2]
    assert first.json()["meta"]["has_more"] is True
    following = await zendesk.get(first.json()["links"]["next"])
    assert _refs(following.json()) == [1, 0]
    last = await zendesk.get(following.json()["links"]["next"])
    assert _refs(last.json()) == ["c"]
    assert last.json()["meta"]["has_more"] is False
    assert last.json()["links"]["next"] is None
    back = await zendesk.get(last.json()["links"]["prev"])
    assert _refs(back.json()) == [1, 0]
    refused = await zendesk.get(path, params={"page[size]": 2, "page[after]": "nonsense"})
    assert refused.status_code == 400


async def test_audits_page_by_offset(zendesk: httpx.AsyncClient) -> None:
    ticket_id = await _ticket_with_notes(zendesk, 2)
    path = f"/api/v2/tickets/{ticket_id}/audits"
    second = await zendesk.get(path, params={"per_page": 2, "page": 2})
    assert _refs(second.json()) == [1]
    assert second.json()["next_page"] is None
    assert second.json()["count"] == 3
    first = await zendesk.get(second.json()["previous_page"])
    assert _refs(first.json()) == ["c", 0]


async def test_the_event_export_shows_the_audits_metadata_on_its_comment(
    zendesk: httpx.AsyncClient,
) -> None:
    ticket_id = await _ticket_with_notes(zendesk, 1)
    await zendesk.post("/_sandbox/config", json={"incremental_lag_seconds": 0})
    export = await zendesk.get(
        "/api/v2/incremental/ticket_events", params={"start_time": 0, "include": "comment_events"}
    )
    assert export.status_code == 200, export.text
    comments = [
        child
        for event in export.json()["ticket_events"]
        if event["ticket_id"] == ticket_id
        for child in event["child_events"]
        if child["event_type"] == "Comment"
    ]
    assert [c["metadata"]["custom"] for c in comments] == [{"ref": "c"}, {"ref": 0}]

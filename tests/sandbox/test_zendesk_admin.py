"""The Zendesk sandbox's admin surface: OAuth grant types, token expiry and rotation, scopes,
webhooks, views and automations, each held to Zendesk's documented rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
from tests.sandbox.helpers import assert_conforms

EVENTS = [
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.status_changed",
]
VIEW = {
    "title": "SMS conversations",
    "all": [
        {"field": "status", "operator": "less_than", "value": "closed"},
        {"field": "current_tags", "operator": "includes", "value": "sms"},
    ],
    "output": {"columns": ["status", "requester", "description", "updated"], "sort_by": "updated"},
}
AUTOMATION = {
    "title": "Close solved SMS tickets after 24 hours",
    "conditions": {
        "all": [
            {"field": "status", "operator": "is", "value": "solved"},
            {"field": "SOLVED", "operator": "greater_than", "value": "24"},
            {"field": "current_tags", "operator": "includes", "value": "sms"},
        ]
    },
    "actions": [{"field": "status", "value": "closed"}],
}


async def token(
    zendesk: httpx.AsyncClient, *, secret: str = OAUTH_CLIENT_SECRET, **extra: Any
) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": secret,
        "scope": "read write",
    } | extra
    return await zendesk.post("/oauth/tokens", json=body, headers={"Authorization": ""})


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def test_client_credentials_token_works_until_it_expires(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    refused = await token(zendesk, secret="wrong")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"

    granted = await token(zendesk)
    assert granted.status_code == 201
    grant = granted.json()
    assert grant["token_type"] == "bearer" and grant["scope"] == "read write"
    assert grant["expires_in"] == 1800 and "refresh_token" not in grant
    me = await zendesk.get("/api/v2/users/me", headers=bearer(grant["access_token"]))
    assert me.status_code == 200 and me.json()["user"]["role"] == "admin"

    state = zendesk_app.state.sandbox
    later = state.clock() + 1801
    state.clock = lambda: later
    expired = await zendesk.get("/api/v2/users/me", headers=bearer(grant["access_token"]))
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


async def test_a_refresh_token_works_once_and_takes_its_access_token_with_it(
    zendesk: httpx.AsyncClient,
) -> None:
    minted = await zendesk.post("/_sandbox/oauth/refresh_tokens", json={"scope": "read write"})
    first = minted.json()["refresh_token"]
    body = {
        "grant_type": "refresh_token",
        "refresh_token": first,
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
    }
    one = await zendesk.post("/oauth/tokens", json=body)
    assert one.status_code == 201 and one.json()["refresh_token"] != first
    again = await zendesk.post("/oauth/tokens", json=body)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    two = await zendesk.post(
        "/oauth/tokens", json=body | {"refresh_token": one.json()["refresh_token"]}
    )
    assert two.status_code == 201
    old_access = await zendesk.get("/api/v2/brands", headers=bearer(one.json()["access_token"]))
    assert old_access.status_code == 401
    new_access = await zendesk.get("/api/v2/brands", headers=bearer(two.json()["access_token"]))
    assert new_access.status_code == 200


async def test_scopes_limit_what_a_token_may_do(zendesk: httpx.AsyncClient) -> None:
    grant = (await token(zendesk, scope="tickets:read")).json()
    headers = bearer(grant["access_token"])
    assert (await zendesk.get("/api/v2/tickets/1001", headers=headers)).status_code == 404
    assert (await zendesk.get("/api/v2/users/me", headers=headers)).status_code == 403
    write = await zendesk.put(
        "/api/v2/tickets/1001", json={"ticket": {"status": "open"}}, headers=headers
    )
    assert write.status_code == 403
    current = await zendesk.get("/api/v2/oauth/tokens/current", headers=headers)
    assert current.json()["token"]["scopes"] == ["tickets:read"]
    assert_conforms("zendesk", "GET", "/api/v2/oauth/tokens/current", 200, current.json())


async def test_an_end_users_token_acts_as_that_end_user(zendesk: httpx.AsyncClient) -> None:
    created = await zendesk.post(
        "/api/v2/users/create_or_update",
        json={"user": {"name": "Pat", "email": "pat@example.com"}},
    )
    user_id = created.json()["user"]["id"]
    registered = await zendesk.post(
        "/_sandbox/oauth/clients",
        json={"identifier": "pats-app", "secret": "s3cret", "user_id": user_id},
    )
    assert registered.status_code == 200 and "secret" not in registered.json()["client"]
    grant = (await token(zendesk, client_id="pats-app", secret="s3cret", scope="read write")).json()
    me = await zendesk.get("/api/v2/users/me", headers=bearer(grant["access_token"]))
    assert me.json()["user"]["id"] == user_id and me.json()["user"]["role"] == "end-user"
    hook = await zendesk.post(
        "/api/v2/webhooks",
        json={"webhook": _hook()},
        headers=bearer(grant["access_token"]),
    )
    assert hook.status_code == 403


def _hook(**changes: Any) -> dict[str, Any]:
    return {
        "name": "smsdesk",
        "endpoint": "https://sms.example.com/webhooks/zendesk",
        "http_method": "POST",
        "request_format": "json",
        "status": "active",
        "subscriptions": EVENTS,
    } | changes


async def test_webhooks_are_created_listed_updated_and_have_a_signing_secret(
    zendesk: httpx.AsyncClient,
) -> None:
    created = await zendesk.post("/api/v2/webhooks", json={"webhook": _hook()})
    assert created.status_code == 201
    hook = created.json()["webhook"]
    assert hook["subscriptions"] == EVENTS and "signing_secret" not in hook
    await zendesk.post("/api/v2/webhooks", json={"webhook": _hook(name="other tool")})

    listed = await zendesk.get("/api/v2/webhooks", params={"filter[name_contains]": "SMSDESK"})
    assert [h["id"] for h in listed.json()["webhooks"]] == [hook["id"]]

    moved = _hook(endpoint="https://new.example.com/webhooks/zendesk")
    updated = await zendesk.put(f"/api/v2/webhooks/{hook['id']}", json={"webhook": moved})
    assert updated.status_code == 204
    shown = await zendesk.get(f"/api/v2/webhooks/{hook['id']}")
    assert shown.json()["webhook"]["endpoint"] == "https://new.example.com/webhooks/zendesk"

    secret = await zendesk.get(f"/api/v2/webhooks/{hook['id']}/signing_secret")
    assert secret.json()["signing_secret"]["algorithm"] == "SHA256"
    assert len(secret.json()["signing_secret"]["secret"]) >= 32
    missing = await zendesk.get("/api/v2/webhooks/01NOPE/signing_secret")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"http_method": "PUT"}, "must use http_method POST"),
        (
            {"subscriptions": ["zen:event-type:ticket.created", "conditional_ticket_events"]},
            "not both",
        ),
        ({"endpoint": "not a url"}, "not a valid URL"),
        ({"subscriptions": []}, "subscriptions is required"),
    ],
)
async def test_webhooks_zendesk_would_refuse_are_refused(
    zendesk: httpx.AsyncClient, changes: dict[str, Any], problem: str
) -> None:
    refused = await zendesk.post("/api/v2/webhooks", json={"webhook": _hook(**changes)})
    assert refused.status_code == 400
    assert problem in refused.json()["errors"][0]["detail"]


async def test_a_webhook_keeps_its_connection_method(zendesk: httpx.AsyncClient) -> None:
    hook = (await zendesk.post("/api/v2/webhooks", json={"webhook": _hook()})).json()["webhook"]
    to_triggers = _hook(subscriptions=["conditional_ticket_events"])
    refused = await zendesk.put(f"/api/v2/webhooks/{hook['id']}", json={"webhook": to_triggers})
    assert refused.status_code == 400 and "cannot be changed" in refused.text


async def test_views_follow_the_spec_and_zendesks_rules(zendesk: httpx.AsyncClient) -> None:
    created = await zendesk.post("/api/v2/views", json={"view": VIEW})
    assert created.status_code == 200, created.text
    assert_conforms("zendesk", "POST", "/api/v2/views", 200, created.json())
    view = created.json()["view"]
    assert view["conditions"]["all"] == VIEW["all"]
    assert [c["id"] for c in view["execution"]["columns"]] == VIEW["output"]["columns"]

    changed = await zendesk.put(
        f"/api/v2/views/{view['id']}", json={"view": {"title": "SMS conversations (all)"}}
    )
    assert changed.json()["view"]["title"] == "SMS conversations (all)"
    assert changed.json()["view"]["conditions"]["all"] == VIEW["all"]
    listed = await zendesk.get("/api/v2/views")
    assert_conforms("zendesk", "GET", "/api/v2/views", 200, listed.json())
    assert [v["id"] for v in listed.json()["views"]] == [view["id"]]

    unanchored = {**VIEW, "all": [VIEW["all"][1]]}
    refused = await zendesk.post("/api/v2/views", json={"view": unanchored})
    assert refused.status_code == 422 and "Status, Type, Group" in refused.text


async def test_automations_follow_the_spec_and_zendesks_rules(zendesk: httpx.AsyncClient) -> None:
    created = await zendesk.post("/api/v2/automations", json={"automation": AUTOMATION})
    assert created.status_code == 201, created.text
    assert_conforms("zendesk", "POST", "/api/v2/automations", 201, created.json())
    automation = created.json()["automation"]
    assert automation["conditions"]["all"] == AUTOMATION["conditions"]["all"]

    off = await zendesk.put(
        f"/api/v2/automations/{automation['id']}", json={"automation": {"active": False}}
    )
    assert off.json()["automation"]["active"] is False
    shown = await zendesk.get(f"/api/v2/automations/{automation['id']}")
    assert shown.json()["automation"]["active"] is False

    timeless = {**AUTOMATION, "conditions": {"all": AUTOMATION["conditions"]["all"][::2]}}
    refused = await zendesk.post("/api/v2/automations", json={"automation": timeless})
    assert refused.status_code == 422 and "time based condition" in refused.text
    endless = {**AUTOMATION, "actions": [{"field": "priority", "value": "low"}]}
    refused = await zendesk.post("/api/v2/automations", json={"automation": endless})
    assert refused.status_code == 422 and "nullifies a condition" in refused.text


async def test_admin_requests_raise_no_spec_violation(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    await zendesk.post("/api/v2/views", json={"view": VIEW})
    await zendesk.post("/api/v2/automations", json={"automation": AUTOMATION})
    assert zendesk_app.state.sandbox.spec_violations == []

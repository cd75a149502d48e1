"""`ZendeskClient` against a scripted Zendesk (`httpx.MockTransport`): each public method's
request (method, path, query, body, headers) and how it reads Zendesk's answer."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from clients.zendesk import ZendeskClient, auth_header
from tests.helpers.scripted_http import BASE, BEARER, ok, scripted_zendesk

USER = {"id": 7, "name": "Ana", "email": "ana@example.com", "role": "end-user", "extra": 1}
TICKET = {"id": 42, "status": "open", "subject": "SMS", "tags": ["sms"], "requester_id": 7}
ATTACHMENT = {
    "id": 5,
    "file_name": "a.png",
    "content_url": f"{BASE}/attachments/token/x/?name=a.png",
    "content_type": "image/png",
    "size": 2048,
}
AUDIT_WITH_COMMENT = {
    "id": 900,
    "metadata": {"custom": {"smsdesk_ref": "SM1"}, "system": {}},
    "events": [{"id": 3001, "type": "Comment", "body": "Hello"}, {"type": "Change"}],
}

Call = Callable[[ZendeskClient], Awaitable[Any]]


# --- credentials -----------------------------------------------------------------------------


def test_an_oauth_token_is_a_bearer_header_and_wins_over_the_api_token() -> None:
    header = auth_header(oauth_token="tok", email="ops@acme.com", api_token="secret")
    assert header == "Bearer tok"


def test_the_legacy_api_token_is_basic_auth_of_email_slash_token() -> None:
    header = auth_header(oauth_token=None, email="ops@acme.com", api_token="secret")
    assert header.startswith("Basic ")
    assert base64.b64decode(header.removeprefix("Basic ")) == b"ops@acme.com/token:secret"


@pytest.mark.parametrize(
    "given",
    [
        {"oauth_token": None, "email": None, "api_token": None},
        {"oauth_token": "", "email": "ops@acme.com", "api_token": None},
        {"oauth_token": None, "email": None, "api_token": "secret"},
    ],
)
def test_no_usable_credentials_is_refused_at_once(given: dict[str, str | None]) -> None:
    with pytest.raises(ValueError, match="ZENDESK_OAUTH_TOKEN"):
        auth_header(**given)


@pytest.mark.parametrize(
    "authorization",
    [
        BEARER,
        auth_header(oauth_token=None, email="ops@acme.com", api_token="secret"),
    ],
)
async def test_every_request_carries_the_header_and_asks_for_json(authorization: str) -> None:
    async with scripted_zendesk(ok({"user": USER}), authorization=authorization) as (zd, script):
        await zd.me()
    assert script.last.headers["Authorization"] == authorization
    assert script.last.headers["Accept"] == "application/json"


async def test_a_base_url_with_a_trailing_slash_makes_no_double_slash() -> None:
    async with scripted_zendesk(ok({"user": USER}), base_url=BASE + "/") as (zd, script):
        await zd.get_user(7)
    assert str(script.last.url) == f"{BASE}/api/v2/users/7"


# --- reads -----------------------------------------------------------------------------------


READS = [
    pytest.param(
        lambda zd: zd.me(),
        "/api/v2/users/me",
        {"user": USER},
        lambda user: (user.id, user.email),
        (7, "ana@example.com"),
        id="me",
    ),
    pytest.param(
        lambda zd: zd.get_user(7),
        "/api/v2/users/7",
        {"user": USER},
        lambda user: user.name,
        "Ana",
        id="user",
    ),
    pytest.param(
        lambda zd: zd.get_ticket(42),
        "/api/v2/tickets/42",
        {"ticket": TICKET},
        lambda ticket: (ticket.id, ticket.status, ticket.tags),
        (42, "open", ["sms"]),
        id="ticket",
    ),
    pytest.param(
        lambda zd: zd.get_ticket_details(42),
        "/api/v2/tickets/42",
        {"ticket": TICKET | {"group_id": 3, "via": {"channel": "api"}}},
        lambda ticket: (ticket.group_id, ticket.via, ticket.assignee_id),
        (3, {"channel": "api"}, None),
        id="ticket-details",
    ),
    pytest.param(
        lambda zd: zd.get_group(3),
        "/api/v2/groups/3",
        {"group": {"id": 3, "name": "Support"}},
        lambda group: group.name,
        "Support",
        id="group",
    ),
    pytest.param(
        lambda zd: zd.get_attachment(5),
        "/api/v2/attachments/5",
        {"attachment": ATTACHMENT},
        lambda attachment: (attachment.file_name, attachment.size),
        ("a.png", 2048),
        id="attachment",
    ),
    pytest.param(
        lambda zd: zd.list_brands(),
        "/api/v2/brands",
        {"brands": [{"id": 360, "name": "SMS"}]},
        lambda brands: brands,
        [{"id": 360, "name": "SMS"}],
        id="brands",
    ),
    pytest.param(
        lambda zd: zd.list_ticket_fields(),
        "/api/v2/ticket_fields",
        {"ticket_fields": [{"id": 9, "title": "Order", "type": "text"}]},
        lambda fields: [(f.id, f.title) for f in fields],
        [(9, "Order")],
        id="ticket-fields",
    ),
]


@pytest.mark.parametrize(("call", "path", "answer", "read", "expected"), READS)
async def test_each_read_gets_its_path_and_parses_the_answer(
    call: Call,
    path: str,
    answer: dict[str, Any],
    read: Callable[[Any], object],
    expected: object,
) -> None:
    async with scripted_zendesk(ok(answer)) as (zd, script):
        result = await call(zd)
    assert (script.last.method, script.last.url.path, script.last.url.query) == ("GET", path, b"")
    assert read(result) == expected


async def test_comments_are_asked_newest_first_and_returned_oldest_first() -> None:
    comments = [
        {"id": 12, "body": "second", "public": False},
        {"id": 11, "body": "first", "attachments": [ATTACHMENT]},
    ]
    async with scripted_zendesk(ok({"comments": comments})) as (zd, script):
        found = await zd.list_comments(42)
    assert script.last.url.path == "/api/v2/tickets/42/comments"
    assert dict(script.last.url.params) == {"sort_order": "desc"}
    assert [(c.id, c.body, c.public) for c in found] == [(11, "first", True), (12, "second", False)]
    assert [a.id for a in found[0].attachments] == [5]


async def test_latest_audits_are_one_page_of_100_newest_first() -> None:
    odd = {"id": 899, "metadata": {"custom": "not a dict"}, "events": [{"type": "Comment"}]}
    async with scripted_zendesk(ok({"audits": [AUDIT_WITH_COMMENT, odd]})) as (zd, script):
        audits = await zd.latest_audits(42)
    assert script.last.url.path == "/api/v2/tickets/42/audits"
    assert dict(script.last.url.params) == {"sort_order": "desc", "page[size]": "100"}
    assert [(a.custom, a.comment_bodies) for a in audits] == [
        ({"smsdesk_ref": "SM1"}, ["Hello"]),
        ({}, [""]),
    ]


async def test_the_event_export_asks_for_comment_events_from_a_start_time() -> None:
    page = {
        "ticket_events": [{"id": 1, "ticket_id": 42, "timestamp": 1_800_000_000}],
        "end_time": 1_800_000_100,
        "end_of_stream": False,
    }
    async with scripted_zendesk(ok(page)) as (zd, script):
        found = await zd.ticket_events(start_time=1_799_999_000)
    assert script.last.url.path == "/api/v2/incremental/ticket_events"
    assert dict(script.last.url.params) == {
        "start_time": "1799999000",
        "include": "comment_events",
    }
    assert [e.ticket_id for e in found.ticket_events] == [42]
    assert (found.end_time, found.end_of_stream) == (1_800_000_100, False)


async def test_the_ticket_export_starts_from_a_time_then_follows_the_cursor() -> None:
    first = {"tickets": [TICKET], "after_cursor": "c2", "end_of_stream": False}
    last = {"tickets": [], "metric_sets": [{"ticket_id": 42}], "end_of_stream": True}
    async with scripted_zendesk(ok(first), ok(last)) as (zd, script):
        page = await zd.export_tickets(start_time=1_700_000_000)
        final = await zd.export_tickets(cursor=page.after_cursor, include="metric_sets")
    assert [dict(r.url.params) for r in script.requests] == [
        {"start_time": "1700000000"},
        {"cursor": "c2", "include": "metric_sets"},
    ]
    assert {r.url.path for r in script.requests} == {"/api/v2/incremental/tickets/cursor"}
    assert (page.after_cursor, page.end_of_stream, final.metric_sets) == (
        "c2",
        False,
        [{"ticket_id": 42}],
    )


async def test_many_users_are_one_request_with_their_ids_joined() -> None:
    async with scripted_zendesk(ok({"users": [USER, USER | {"id": 8}]})) as (zd, script):
        users = await zd.show_users([7, 8])
    assert script.last.url.path == "/api/v2/users/show_many"
    assert dict(script.last.url.params) == {"ids": "7,8"}
    assert [u.id for u in users] == [7, 8]


# --- writes ----------------------------------------------------------------------------------


async def test_the_requester_is_found_or_made_by_name_and_external_id_alone() -> None:
    async with scripted_zendesk(ok({"user": USER}, status=201)) as (zd, script):
        user = await zd.create_or_update_user(name="Ana", external_id="sms:+15551230001")
    assert (script.last.method, script.last.url.path) == ("POST", "/api/v2/users/create_or_update")
    # No email and no role: an agent's email on the profile must not make the agent requester.
    assert script.body() == {"user": {"name": "Ana", "external_id": "sms:+15551230001"}}
    assert user.id == 7


async def test_a_ticket_is_created_under_its_idempotency_key_and_a_replay_is_recognised() -> None:
    ticket = {"subject": "SMS", "comment": {"body": "Hi"}}
    async with scripted_zendesk(
        ok({"ticket": TICKET}, status=201),
        ok({"ticket": TICKET}, status=201, headers={"x-idempotency-lookup": "HIT"}),
    ) as (zd, script):
        created = await zd.create_ticket(ticket, idempotency_key="conv:SM1")
        replayed = await zd.create_ticket(ticket, idempotency_key="conv:SM1")
    assert (script.last.method, script.last.url.path) == ("POST", "/api/v2/tickets")
    assert [r.headers["Idempotency-Key"] for r in script.requests] == ["conv:SM1", "conv:SM1"]
    assert script.body(0) == {"ticket": ticket}
    assert (created.ticket.id, created.replayed, replayed.replayed) == (42, False, True)


async def test_an_update_puts_the_ticket_and_reads_the_new_comment_id_from_its_audit() -> None:
    update = {"comment": {"body": "Hi", "public": False}, "status": "open"}
    async with scripted_zendesk(
        ok({"ticket": TICKET}),
        ok({"ticket": TICKET, "audit": AUDIT_WITH_COMMENT}),
        ok({"ticket": TICKET}),
    ) as (zd, script):
        plain = await zd.update_ticket(42, update)
        audited = await zd.update_ticket_audited(42, update)
        unaudited = await zd.update_ticket_audited(42, {"status": "solved"})
    assert {(r.method, r.url.path) for r in script.requests} == {("PUT", "/api/v2/tickets/42")}
    assert script.body(0) == {"ticket": update}
    assert plain.status == "open" and audited.ticket.id == 42
    assert (audited.comment_id, unaudited.comment_id, unaudited.audit) == (3001, None, None)


async def test_an_upload_sends_the_raw_bytes_with_their_type_and_a_matching_name() -> None:
    answer = {"upload": {"token": "up-1", "attachment": ATTACHMENT}}
    async with scripted_zendesk(ok(answer, status=201)) as (zd, script):
        upload = await zd.upload(
            file_name="SM1-1.png", content=b"\x89PNG", content_type="image/png"
        )
    assert (script.last.method, script.last.url.path) == ("POST", "/api/v2/uploads")
    assert dict(script.last.url.params) == {"filename": "SM1-1.png"}
    assert script.last.headers["Content-Type"] == "image/png"
    assert script.last.content == b"\x89PNG"
    assert (upload.token, upload.attachment.id) == ("up-1", 5)

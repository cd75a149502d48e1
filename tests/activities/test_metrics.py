"""Ticket-metrics activities under ActivityEnvironment, against fake Zendesk and Klaviyo APIs:
the event body (M15), the profile choice, caching, and errors turned into retry decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.metrics import (
    PROPERTY_NAMES,
    MetricEventInput,
    MetricsActivities,
    TicketLookup,
    TicketSnapshot,
)
from clients.klaviyo import KlaviyoClient
from clients.zendesk import ZendeskClient
from core.tables import TicketLink, ZendeskRequester, utcnow
from core.ticket_metrics import Metric, metric_unique_id
from infra import db
from tests.helpers.fake_metrics_apis import (
    KLAVIYO_URL,
    REVISION,
    ZENDESK_URL,
    FakeApis,
    ticket_json,
)
from tests.helpers.klaviyo_schema import event_body_problems

OPENED_AT = datetime(2026, 8, 3, 14, 5, 9, tzinfo=UTC)
EXPECTED_KEYS = {
    "Assignee_Email", "Assignee_Name", "Channel", "Description", "Fields", "Group_Name",
    "Priority", "Subject", "Tags", "Ticket_ID", "Type", "Via", "Zendesk_URL", "Status",
}  # fmt: skip


@pytest.fixture
def apis() -> FakeApis:
    fakes = FakeApis()
    fakes.zendesk.tickets[1001] = ticket_json(1001)
    fakes.zendesk.add_requester(email="dana@example.com", phone="+15550109999")
    return fakes


@pytest.fixture
async def metrics(apis: FakeApis, engine: Engine) -> Any:
    async with httpx.AsyncClient(transport=apis.transport()) as http:
        yield MetricsActivities(
            ZendeskClient(http, base_url=ZENDESK_URL, authorization="Bearer t"),
            KlaviyoClient(http, base_url=KLAVIYO_URL, api_key="pk_test", revision=REVISION),
            engine,
            zendesk_url=ZENDESK_URL + "/",
        )


async def snapshot(metrics: MetricsActivities, ticket_id: int = 1001) -> TicketSnapshot:
    env = ActivityEnvironment()
    ticket = await env.run(metrics.read_ticket, TicketLookup(ticket_id=ticket_id))
    result: TicketSnapshot = await env.run(metrics.snapshot_ticket, ticket)
    return result


async def send(
    metrics: MetricsActivities, shot: TicketSnapshot, metric: Metric = Metric.OPENED
) -> None:
    request = MetricEventInput(
        metric=metric,
        occurred_at=OPENED_AT,
        unique_id=metric_unique_id(shot.ticket.id, metric),
        snapshot=shot,
    )
    await ActivityEnvironment().run(metrics.send_metric_event, request)


async def test_opened_event_has_exactly_the_fourteen_properties(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    await send(metrics, await snapshot(metrics))
    [post] = apis.klaviyo.posted
    assert event_body_problems(post.body) == []
    assert post.headers["revision"] == REVISION
    assert post.headers["authorization"] == "Klaviyo-API-Key pk_test"
    assert post.headers["content-type"] == "application/vnd.api+json"
    attributes = post.attributes
    assert set(attributes) == {"properties", "time", "unique_id", "metric", "profile"}
    assert set(attributes["properties"]) == EXPECTED_KEYS == set(PROPERTY_NAMES)
    assert attributes["properties"] == {
        "Assignee_Email": "alex@acme.example",
        "Assignee_Name": "Alex Agent",
        "Channel": "email",
        "Description": "The zipper broke on day one.",
        "Fields": {"Order number": "A-1001"},  # empty fields left out, titles not ids
        "Group_Name": "Support",
        "Priority": "high",
        "Subject": "Broken zipper",
        "Tags": ["returns", "vip"],
        "Ticket_ID": 1001,
        "Type": "problem",
        "Via": "email",
        "Zendesk_URL": f"{ZENDESK_URL}/agent/tickets/1001",
        "Status": "new",
    }
    assert attributes["time"] == "2026-08-03T14:05:09+00:00"
    assert attributes["unique_id"] == "zendesk-1001-opened"
    assert attributes["metric"] == {
        "data": {"type": "metric", "attributes": {"name": "Opened Ticket"}}
    }
    # Email wins over phone: one profile, the one marketing already knows by email.
    assert attributes["profile"] == {
        "data": {"type": "profile", "attributes": {"email": "dana@example.com"}}
    }


async def test_resolved_event_names_its_metric_and_its_own_unique_id(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.zendesk.tickets[1001]["status"] = "closed"
    await send(metrics, await snapshot(metrics), Metric.RESOLVED)
    [post] = apis.klaviyo.posted
    assert post.attributes["metric"]["data"]["attributes"]["name"] == "Resolved Ticket"
    assert post.attributes["unique_id"] == "zendesk-1001-resolved"
    assert post.attributes["properties"]["Status"] == "closed"
    assert event_body_problems(post.body) == []


async def test_ticket_without_assignee_or_group_still_has_every_property(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.zendesk.tickets[1001] |= {
        "assignee_id": None, "group_id": None, "priority": None, "type": None,
        "custom_fields": [], "tags": [],
    }  # fmt: skip
    await send(metrics, await snapshot(metrics))
    [post] = apis.klaviyo.posted
    properties = post.attributes["properties"]
    assert set(properties) == EXPECTED_KEYS
    assert properties["Assignee_Email"] is None and properties["Assignee_Name"] is None
    assert properties["Group_Name"] is None
    assert properties["Fields"] == {} and properties["Tags"] == []
    assert event_body_problems(post.body) == []
    # Nothing was asked about the missing assignee or group.
    assert apis.zendesk.calls["/api/v2/groups/{id}"] == 0
    assert apis.zendesk.calls["/api/v2/users/{id}"] == 1


@pytest.mark.parametrize(
    ("requester", "expected"),
    [
        ({"phone": "+1 (555) 010-7777"}, {"phone_number": "+15550107777"}),
        ({"external_id": "sms:+15550108888"}, {"phone_number": "+15550108888"}),
        # A local number cannot name a profile; smsdesk's external id still can.
        (
            {"phone": "555-0100", "external_id": "sms:+15550108888"},
            {"phone_number": "+15550108888"},
        ),
        ({"email": "x@example.com", "external_id": "sms:+1555"}, {"email": "x@example.com"}),
    ],
)
async def test_profile_is_email_else_phone_in_e164(
    metrics: MetricsActivities, apis: FakeApis, requester: dict[str, Any], expected: dict[str, str]
) -> None:
    apis.zendesk.add_requester(**requester)
    await send(metrics, await snapshot(metrics))
    [post] = apis.klaviyo.posted
    assert post.attributes["profile"]["data"]["attributes"] == expected
    assert event_body_problems(post.body) == []


async def test_requester_without_email_or_phone_has_no_profile(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.zendesk.add_requester(external_id="crm-42")
    shot = await snapshot(metrics)
    assert shot.profile is None
    with pytest.raises(ValueError, match="email or phone"):
        await send(metrics, shot)
    assert apis.klaviyo.posted == []


async def test_sms_conversation_ticket_reports_the_sms_channel(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.zendesk.tickets[1001] |= {
        "external_id": "sms-conversation-15550100001-15550108888",
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": "follow_up"}},
    }
    properties = await _sent_properties(metrics, apis)
    assert (properties["Channel"], properties["Via"]) == ("sms", "api (follow_up)")


async def _sent_properties(metrics: MetricsActivities, apis: FakeApis) -> dict[str, Any]:
    await send(metrics, await snapshot(metrics))
    properties: dict[str, Any] = apis.klaviyo.posted[-1].attributes["properties"]
    return properties


async def test_groups_and_field_titles_are_read_once_and_refreshed_for_new_fields(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.zendesk.tickets[1002] = ticket_json(1002)
    await snapshot(metrics, 1001)
    await snapshot(metrics, 1002)
    assert apis.zendesk.calls["/api/v2/ticket_fields"] == 1
    assert apis.zendesk.calls["/api/v2/groups/{id}"] == 1
    # A field added since: titles are read again; a field Zendesk does not list keeps its id.
    apis.zendesk.fields.append({"id": 9003, "title": "Size"})
    apis.zendesk.tickets[1003] = ticket_json(
        1003, custom_fields=[{"id": 9003, "value": "M"}, {"id": 9999, "value": True}]
    )
    shot = await snapshot(metrics, 1003)
    assert shot.fields == {"Size": "M", "9999": True}
    assert apis.zendesk.calls["/api/v2/ticket_fields"] == 2


async def test_klaviyo_429_is_retried_after_its_retry_after(
    metrics: MetricsActivities, apis: FakeApis
) -> None:
    apis.klaviyo.faults.append(httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    with pytest.raises(ApplicationError) as raised:
        await send(metrics, await snapshot(metrics))
    assert raised.value.type == "RateLimited"
    assert not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=7)


@pytest.mark.parametrize("status", [500, 503, 408, 409])
async def test_klaviyo_outages_are_retryable(
    metrics: MetricsActivities, apis: FakeApis, status: int
) -> None:
    apis.klaviyo.faults.append(httpx.Response(status, json={}))
    with pytest.raises(ApplicationError) as raised:
        await send(metrics, await snapshot(metrics))
    assert not raised.value.non_retryable


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "RejectedRequest"), (401, "Unauthorized"), (403, "Unauthorized")]
)
async def test_klaviyo_refusal_fails_without_retry_and_names_the_reason(
    metrics: MetricsActivities, apis: FakeApis, status: int, kind: str
) -> None:
    reason = {"errors": [{"code": "invalid", "detail": "profile.email is not a valid email"}]}
    apis.klaviyo.faults.append(httpx.Response(status, json=reason))
    with pytest.raises(ApplicationError) as raised:
        await send(metrics, await snapshot(metrics))
    assert raised.value.non_retryable
    assert raised.value.type == kind
    assert f"answered {status}" in raised.value.message
    assert "profile.email is not a valid email" in raised.value.message


async def test_deleted_ticket_is_a_non_retryable_not_found(metrics: MetricsActivities) -> None:
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(metrics.read_ticket, TicketLookup(ticket_id=4040))
    assert (raised.value.type, raised.value.non_retryable) == ("NotFound", True)


# --- a ticket smsdesk opened: its event from what the database holds (B14) ------------------

#: The create response of a ticket smsdesk opened: no assignee, group or filled field yet.
OPENED_BY_SMSDESK = ticket_json(
    1001, assignee_id=None, group_id=None, custom_fields=[{"id": 9001, "value": None}]
)


def opened_by_smsdesk(engine: Engine, ticket: dict[str, Any] = OPENED_BY_SMSDESK) -> None:
    link = TicketLink(
        ticket_id=ticket["id"],
        conversation_id="sms-+15550100001-+15551230001",
        sender_number="+15550100001",
        customer_phone="+15551230001",
        opened_as=json.dumps(ticket),
    )
    db.insert_once(engine, row=link)


def requester_seen(engine: Engine, **contact: Any) -> None:
    contact = {"email": None, "phone": None, "external_id": "sms:+15551230001"} | contact
    db.remember_requester(engine, user_id=10001, **contact)


async def known(metrics: MetricsActivities) -> TicketSnapshot | None:
    result = await ActivityEnvironment().run(
        metrics.known_opened_ticket, TicketLookup(ticket_id=1001)
    )
    return result.snapshot


async def test_ticket_smsdesk_opened_is_known_without_a_zendesk_request(
    metrics: MetricsActivities, engine: Engine, apis: FakeApis
) -> None:
    opened_by_smsdesk(engine)
    requester_seen(engine)
    shot = await known(metrics)
    assert shot is not None
    assert shot.profile is not None
    assert shot.profile.phone_number == "+15551230001"  # from smsdesk's `sms:` external id
    assert (shot.ticket.id, shot.ticket.subject, shot.fields) == (1001, "Broken zipper", {})
    assert sum(apis.zendesk.calls.values()) == 0


async def test_known_requester_email_wins_over_the_phone(
    metrics: MetricsActivities, engine: Engine
) -> None:
    opened_by_smsdesk(engine)
    requester_seen(engine, email="dana@example.com")
    shot = await known(metrics)
    assert shot is not None and shot.profile is not None
    assert (shot.profile.email, shot.profile.phone_number) == ("dana@example.com", None)


@pytest.mark.parametrize(
    "override",
    [{"assignee_id": 2}, {"group_id": 20001}, {"custom_fields": [{"id": 9001, "value": "A-1"}]}],
    ids=["assignee", "group", "filled field"],
)
async def test_names_only_zendesk_can_give_mean_reading_the_ticket(
    metrics: MetricsActivities, engine: Engine, override: dict[str, Any]
) -> None:
    opened_by_smsdesk(engine, OPENED_BY_SMSDESK | override)
    requester_seen(engine)
    assert await known(metrics) is None


async def test_ticket_smsdesk_did_not_open_is_unknown(
    metrics: MetricsActivities, engine: Engine
) -> None:
    requester_seen(engine)
    assert await known(metrics) is None


async def test_a_requester_contact_older_than_the_ticket_is_not_trusted(
    metrics: MetricsActivities, engine: Engine
) -> None:
    requester_seen(engine)
    with Session(engine) as session:  # seen long before the ticket was opened
        row = session.get(ZendeskRequester, 10001)
        assert row is not None
        row.seen_at = utcnow() - timedelta(hours=3)
        session.add(row)
        session.commit()
    opened_by_smsdesk(engine)
    assert await known(metrics) is None

"""M2 and M15 over the whole stack: tickets of any channel opened or closed in the Zendesk
sandbox reach the Klaviyo sandbox as events, checked against Klaviyo's official spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.ticket_metrics import Metric, TicketMetricsResult, metrics_workflow_id, zendesk_account
from devstack.sandboxes import AGENT_ID
from tests.helpers.stack import Stack, eventually, running_stack
from tests.helpers.tickets import events

FOURTEEN = {
    "Assignee_Email", "Assignee_Name", "Channel", "Description", "Fields", "Group_Name",
    "Priority", "Subject", "Tags", "Ticket_ID", "Type", "Via", "Zendesk_URL", "Status",
}  # fmt: skip
SUPPORT_GROUP_ID = 20001
ORDER_NUMBER_FIELD_ID = 9001
DEFAULT_BRAND_ID = 360001
OTHER_BRAND_ID = 360002


async def create_ticket(stack: Stack, **fields: Any) -> int:
    """A ticket as an email or web-form ticket would arrive: no smsdesk involved."""
    ticket = {
        "subject": "Broken zipper",
        "comment": {"body": "The zipper broke on day one."},
        "requester": {"name": "Robin", "email": "robin@example.com"},
    } | fields
    ticket = {name: value for name, value in ticket.items() if value is not None}
    response = await stack.zendesk("POST", "/api/v2/tickets", json={"ticket": ticket})
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["ticket"]["id"]
    return ticket_id


async def the_event(stack: Stack, ticket_id: int, metric: Metric) -> dict[str, Any]:
    [event] = await eventually(lambda: events(stack, ticket_id, metric))
    return event


def metrics_run(stack: Stack, ticket_id: int, metric: Metric) -> WorkflowHandle[Any, Any]:
    account = zendesk_account(stack.settings.zendesk_url)
    return stack.client.get_workflow_handle(
        metrics_workflow_id(account, ticket_id, metric), result_type=TicketMetricsResult
    )


async def profile_of(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    response = await stack.http.get(stack.url("klaviyo", "/_sandbox/profiles"))
    [profile] = [p for p in response.json()["profiles"] if p["id"] == event["profile_id"]]
    attributes: dict[str, Any] = profile["attributes"]
    return attributes


async def assert_spec_clean(stack: Stack) -> None:
    response = await stack.http.get(stack.url("klaviyo", "/_sandbox/spec_violations"))
    assert response.json()["spec_violations"] == []


async def event_posts(stack: Stack) -> int:
    stats = (await stack.http.get(stack.url("klaviyo", "/_sandbox/stats"))).json()
    return int(stats["requests"].get("POST /api/events", 0))


async def flush_zendesk(stack: Stack) -> list[dict[str, Any]]:
    """Every webhook so far delivered: the receiver has started whatever it starts."""
    response = await stack.http.post(stack.url("zendesk", "/_sandbox/flush"))
    deliveries: list[dict[str, Any]] = response.json()["deliveries"]
    return deliveries


async def test_opened_ticket_of_any_channel_is_an_event_with_the_fourteen_properties(
    stack: Stack,
) -> None:
    ticket_id = await create_ticket(
        stack,
        assignee_id=AGENT_ID,
        group_id=SUPPORT_GROUP_ID,
        priority="high",
        type="problem",
        tags=["returns", "vip"],
        custom_fields=[{"id": ORDER_NUMBER_FIELD_ID, "value": "A-1001"}],
    )
    event = await the_event(stack, ticket_id, Metric.OPENED)
    assert set(event["properties"]) == FOURTEEN
    assert event["properties"] == {
        "Assignee_Email": "alex@acme.example",
        "Assignee_Name": "Alex Agent",
        "Channel": "api",
        "Description": "The zipper broke on day one.",
        "Fields": {"Order number": "A-1001"},
        "Group_Name": "Support",
        "Priority": "high",
        "Subject": "Broken zipper",
        "Tags": ["returns", "vip"],
        "Ticket_ID": ticket_id,
        "Type": "problem",
        "Via": "api",
        "Zendesk_URL": f"{stack.settings.zendesk_url}/agent/tickets/{ticket_id}",
        "Status": "open",
    }
    assert event["unique_id"] == f"zendesk-{ticket_id}-opened"
    assert (await profile_of(stack, event))["email"] == "robin@example.com"
    result = await metrics_run(stack, ticket_id, Metric.OPENED).result()
    assert result.outcome == "sent"
    await assert_spec_clean(stack)


async def test_solved_sends_nothing_and_closed_is_resolved(stack: Stack) -> None:
    ticket_id = await create_ticket(stack, assignee_id=AGENT_ID)
    await the_event(stack, ticket_id, Metric.OPENED)
    await stack.set_status(ticket_id, "solved")
    deliveries = await flush_zendesk(stack)
    assert any(d["label"].endswith("status_changed") for d in deliveries), deliveries
    with pytest.raises(RPCError) as missing:
        await metrics_run(stack, ticket_id, Metric.RESOLVED).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await events(stack, ticket_id, Metric.RESOLVED) == []

    # Zendesk's automation closes the solved ticket: that is the resolution (M15).
    forced = await stack.http.post(
        stack.url("zendesk", f"/_sandbox/tickets/{ticket_id}/status"), json={"status": "closed"}
    )
    forced.raise_for_status()
    event = await the_event(stack, ticket_id, Metric.RESOLVED)
    assert set(event["properties"]) == FOURTEEN
    assert event["properties"]["Status"] == "closed"
    assert event["unique_id"] == f"zendesk-{ticket_id}-resolved"
    assert (await metrics_run(stack, ticket_id, Metric.RESOLVED).result()).outcome == "sent"
    await assert_spec_clean(stack)


async def test_ticket_without_assignee_or_group_and_a_phone_only_requester(
    stack: Stack,
) -> None:
    user = await stack.zendesk(
        "POST",
        "/api/v2/users/create_or_update",
        json={"user": {"name": "+15550142424", "external_id": "sms:+15550142424"}},
    )
    requester_id = user.json()["user"]["id"]
    ticket_id = await create_ticket(stack, requester=None, requester_id=requester_id)
    event = await the_event(stack, ticket_id, Metric.OPENED)
    properties = event["properties"]
    assert set(properties) == FOURTEEN
    assert (properties["Assignee_Email"], properties["Assignee_Name"]) == (None, None)
    assert properties["Group_Name"] is None
    assert properties["Fields"] == {}
    assert (await profile_of(stack, event))["phone_number"] == "+15550142424"
    await assert_spec_clean(stack)


async def test_sms_ticket_is_opened_on_the_customers_phone_profile(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    [ticket] = await eventually(lambda: stack.tickets_of(customer))
    event = await the_event(stack, ticket["id"], Metric.OPENED)
    assert event["properties"]["Channel"] == "sms"
    assert "sms" in event["properties"]["Tags"]
    assert (await profile_of(stack, event))["phone_number"] == customer
    await assert_spec_clean(stack)


async def zendesk_requests(stack: Stack) -> list[dict[str, Any]]:
    response = await stack.http.get(stack.url("zendesk", "/_sandbox/requests"))
    requests: list[dict[str, Any]] = response.json()["requests"]
    return requests


async def test_a_new_conversation_costs_two_zendesk_requests_event_included(
    stack: Stack,
) -> None:
    # B14: the requester and the create; the Opened Ticket event is built from what smsdesk
    # holds (the create response, the requester's contact), not read back from Zendesk.
    customer = await stack.new_customer()
    before = len(await zendesk_requests(stack))
    await stack.text(customer, "Where is my order?")
    [ticket] = await eventually(lambda: stack.tickets_of(customer))
    await the_event(stack, ticket["id"], Metric.OPENED)
    await metrics_run(stack, ticket["id"], Metric.OPENED).result()
    made = [(r["method"], r["route"]) for r in (await zendesk_requests(stack))[before:]]
    assert sorted(made) == [
        ("POST", "/api/v2/tickets"),
        ("POST", "/api/v2/users/create_or_update"),
    ], made


async def test_redelivered_webhooks_make_one_event_and_one_send(stack: Stack) -> None:
    await stack.http.post(
        stack.url("zendesk", "/_sandbox/config"), json={"duplicate_probability": 1.0}
    )
    ticket_id = await create_ticket(stack)
    await the_event(stack, ticket_id, Metric.OPENED)
    deliveries = await flush_zendesk(stack)
    created = [d for d in deliveries if d["label"].endswith("created")]
    assert len(created) >= 2 and any(d["duplicate"] for d in created), deliveries
    assert all(d["outcome"] == "delivered" for d in created)
    await metrics_run(stack, ticket_id, Metric.OPENED).result()
    # One workflow, so one request: Klaviyo's unique_id is the second line, not the first.
    assert await event_posts(stack) == 1
    assert len(await events(stack, ticket_id, Metric.OPENED)) == 1


async def test_klaviyo_outage_is_retried_until_the_event_lands(stack: Stack) -> None:
    await stack.arm_fault("klaviyo", status=429, count=2, retry_after=1, path_contains="/events")
    await stack.arm_fault("klaviyo", status=503, count=1, path_contains="/events")
    ticket_id = await create_ticket(stack)
    event = await the_event(stack, ticket_id, Metric.OPENED)
    assert set(event["properties"]) == FOURTEEN
    stats = (await stack.http.get(stack.url("klaviyo", "/_sandbox/stats"))).json()
    assert stats["faults_injected"] == {"429": 2, "503": 1}
    assert await event_posts(stack) == 4
    assert len(await events(stack, ticket_id, Metric.OPENED)) == 1
    await assert_spec_clean(stack)


@pytest.fixture
async def brand_stack(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    overrides = {"zendesk_metrics_brands": str(OTHER_BRAND_ID)}
    async with running_stack(temporal_env.client, engine, **overrides) as running:
        yield running


async def test_only_the_chosen_brands_tickets_become_events(brand_stack: Stack) -> None:
    stack = brand_stack
    skipped_id = await create_ticket(stack, brand_id=DEFAULT_BRAND_ID)
    chosen_id = await create_ticket(stack, brand_id=OTHER_BRAND_ID)
    await the_event(stack, chosen_id, Metric.OPENED)
    result = await metrics_run(stack, skipped_id, Metric.OPENED).result()
    assert result.outcome == "skipped"
    assert result.reason == (
        f"brand {DEFAULT_BRAND_ID} is not among ZENDESK_METRICS_BRANDS ({OTHER_BRAND_ID})"
    )
    assert await events(stack, skipped_id, Metric.OPENED) == []
    await assert_spec_clean(stack)

"""TicketMetrics on the real Temporal dev server, with the production worker factory and fake
Zendesk/Klaviyo HTTP: decisions (brand filter, skips), retries and refusals, duplicate starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.settings import Settings
from core.tables import TicketLink
from core.ticket_metrics import WORKFLOW_NAME, Metric, TicketMetricsInput, TicketMetricsResult
from infra import db
from intake.handoff import Handoff
from service.worker import build_workers
from tests.helpers.fake_metrics_apis import KLAVIYO_URL, ZENDESK_URL, FakeApis, ticket_json
from tests.helpers.klaviyo_schema import event_body_problems
from webhooks.metrics import metrics_input
from webhooks.zendesk_events import ZendeskEvent
from workflows.ticket_metrics import TicketMetrics

OPENED_AT = datetime(2026, 8, 3, 14, 5, 9, tzinfo=UTC)


@dataclass
class Harness:
    client: Client
    settings: Settings
    apis: FakeApis
    ticket_id: int

    async def run(self, metric: Metric = Metric.OPENED, **settings: Any) -> TicketMetricsResult:
        return await (await self.start(metric, **settings)).result()

    async def start(
        self, metric: Metric = Metric.OPENED, *, opened_by_smsdesk: bool = False, **settings: Any
    ) -> WorkflowHandle[Any, TicketMetricsResult]:
        request = self.request(metric, self.settings.model_copy(update=settings))
        request = request.model_copy(update={"opened_by_smsdesk": opened_by_smsdesk})
        return await self.client.start_workflow(
            WORKFLOW_NAME,
            request,
            id=request.workflow_id + "-" + uuid.uuid4().hex[:6],
            task_queue=self.settings.temporal_task_queue,
            result_type=TicketMetricsResult,
        )

    def request(self, metric: Metric, settings: Settings) -> TicketMetricsInput:
        return TicketMetricsInput.for_event(
            ticket_id=self.ticket_id,
            metric=metric,
            occurred_at=OPENED_AT,
            event_id="01HZX",
            settings=settings,
        )


_ticket_ids = iter(range(50_000, 60_000))


@pytest.fixture
async def harness(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Harness]:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_task_queue=queue,
        zendesk_task_queue=f"{queue}-zendesk",
        zendesk_url=ZENDESK_URL,
        zendesk_oauth_token=SecretStr("t"),
        klaviyo_base_url=KLAVIYO_URL,
        klaviyo_api_key=SecretStr("pk_test"),
        twilio_account_sid="AC1",
        twilio_auth_token=SecretStr("t"),
        zendesk_requests_per_minute=60_000,
        zendesk_update_requests_per_minute=60_000,
    )
    apis = FakeApis()
    # Ticket ids are fresh per test: the workflow ids they make live on in the shared server.
    ticket_id = next(_ticket_ids)
    apis.zendesk.tickets[ticket_id] = ticket_json(ticket_id)
    apis.zendesk.add_requester(email="dana@example.com")
    async with httpx.AsyncClient(transport=apis.transport()) as http:
        workers = build_workers(temporal_env.client, settings, http=http, engine=engine)
        async with contextlib.AsyncExitStack() as stack:
            for worker in workers:
                await stack.enter_async_context(worker)
            yield Harness(temporal_env.client, settings, apis, ticket_id)


async def test_opened_ticket_is_sent_with_a_valid_body(harness: Harness) -> None:
    result = await harness.run(Metric.OPENED)
    assert result == TicketMetricsResult(
        outcome="sent", unique_id=f"zendesk-{harness.ticket_id}-opened"
    )
    [post] = harness.apis.klaviyo.posted
    assert event_body_problems(post.body) == []
    assert post.attributes["time"] == OPENED_AT.isoformat()
    assert post.attributes["metric"]["data"]["attributes"]["name"] == "Opened Ticket"


def record_opened_by_smsdesk(engine: Engine, ticket_id: int) -> None:
    """What the create's activity records: the create response, and the requester it used."""
    opened = ticket_json(ticket_id, assignee_id=None, group_id=None, custom_fields=[])
    link = TicketLink(
        ticket_id=ticket_id,
        conversation_id="sms-+15550100001-+15551230001",
        sender_number="+15550100001",
        customer_phone="+15551230001",
        opened_as=json.dumps(opened),
    )
    db.insert_once(engine, row=link)
    db.remember_requester(
        engine, user_id=10001, email=None, phone=None, external_id="sms:+15551230001"
    )


async def test_ticket_smsdesk_opened_becomes_an_event_without_a_zendesk_request(
    harness: Harness, engine: Engine
) -> None:
    # B14: a new conversation costs two Zendesk requests (requester, create); its Opened
    # Ticket event is built from the create response and the requester's contact.
    record_opened_by_smsdesk(engine, harness.ticket_id)
    result = await harness.run(Metric.OPENED)
    assert result.outcome == "sent"
    assert sum(harness.apis.zendesk.calls.values()) == 0
    [post] = harness.apis.klaviyo.posted
    assert event_body_problems(post.body) == []
    profile = post.attributes["profile"]["data"]["attributes"]
    assert profile == {"phone_number": "+15551230001"}
    assert post.attributes["properties"]["Subject"] == "Broken zipper"


async def test_an_event_ahead_of_the_creates_record_waits_for_it_not_for_zendesk(
    harness: Harness, engine: Engine
) -> None:
    # Zendesk announced the ticket (its external id a conversation's) before the activity that
    # created it recorded it: the run waits for the record rather than reading Zendesk twice.
    run = await harness.start(Metric.OPENED, opened_by_smsdesk=True)
    await asyncio.sleep(0.5)
    record_opened_by_smsdesk(engine, harness.ticket_id)
    result = await run.result()
    assert result.outcome == "sent"
    assert sum(harness.apis.zendesk.calls.values()) == 0
    [post] = harness.apis.klaviyo.posted
    assert post.attributes["properties"]["Subject"] == "Broken zipper"


async def test_a_record_that_never_comes_is_replaced_by_reading_zendesk(harness: Harness) -> None:
    started = time.monotonic()
    result = await (await harness.start(Metric.OPENED, opened_by_smsdesk=True)).result()
    assert result.outcome == "sent"
    assert time.monotonic() - started >= 4.5  # it waited for the record first...
    assert sum(harness.apis.zendesk.calls.values()) >= 1  # ...then read the ticket
    assert len(harness.apis.klaviyo.posted) == 1


async def test_ticket_of_another_brand_is_skipped_after_one_zendesk_call(harness: Harness) -> None:
    result = await harness.run(zendesk_metrics_brands="360002")
    assert result.outcome == "skipped"
    assert result.reason == "brand 360001 is not among ZENDESK_METRICS_BRANDS (360002)"
    assert harness.apis.klaviyo.posted == []
    assert sum(harness.apis.zendesk.calls.values()) == 1  # the ticket itself, nothing more


async def test_ticket_of_a_chosen_brand_is_sent(harness: Harness) -> None:
    result = await harness.run(zendesk_metrics_brands="360002,360001")
    assert result.outcome == "sent"
    assert len(harness.apis.klaviyo.posted) == 1


async def test_unreachable_requester_is_skipped_saying_why(harness: Harness) -> None:
    harness.apis.zendesk.add_requester(external_id="crm-42")
    result = await harness.run()
    assert (result.outcome, result.reason) == (
        "skipped",
        "requester 10001 has neither an email nor a phone number",
    )
    assert harness.apis.klaviyo.posted == []


async def test_deleted_ticket_is_skipped(harness: Harness) -> None:
    del harness.apis.zendesk.tickets[harness.ticket_id]
    result = await harness.run()
    assert result.outcome == "skipped"
    assert result.reason == f"ticket {harness.ticket_id} no longer exists in Zendesk"


async def test_klaviyo_429_waits_for_retry_after_then_sends(harness: Harness) -> None:
    # Retry-After (3 s) is longer than the policy's first interval (1 s): the gap shows which won.
    harness.apis.klaviyo.faults.append(httpx.Response(429, headers={"Retry-After": "3"}))
    harness.apis.klaviyo.faults.append(httpx.Response(503))
    started = time.monotonic()
    result = await harness.run()
    assert result.outcome == "sent"
    assert [post.status for post in harness.apis.klaviyo.posted] == [429, 503, 202]
    assert time.monotonic() - started >= 3.0
    assert len(harness.apis.klaviyo.accepted) == 1


async def test_klaviyo_refusal_fails_the_run_naming_the_reason(harness: Harness) -> None:
    reason = {"errors": [{"code": "invalid", "detail": "Invalid phone number format"}]}
    harness.apis.klaviyo.faults.append(httpx.Response(400, json=reason))
    with pytest.raises(WorkflowFailureError) as raised:
        await harness.run()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable and cause.type == "RejectedRequest"
    assert "Klaviyo refused the Opened Ticket event" in cause.message
    assert "Invalid phone number format" in cause.message
    assert len(harness.apis.klaviyo.posted) == 1  # no retry


async def test_second_start_for_the_same_ticket_event_is_a_no_op(harness: Harness) -> None:
    event = ZendeskEvent.model_validate(
        {
            "type": "zen:event-type:ticket.created",
            "id": "01HZX",
            "time": OPENED_AT.isoformat(),
            "detail": {"id": str(harness.ticket_id)},
        }
    )
    client, settings = harness.client, harness.settings

    async def start_ticket_metrics(
        client: Client, settings: Settings, event: ZendeskEvent, metric: Metric
    ) -> bool:
        handoff = Handoff.ticket_metrics(metrics_input(event, metric, settings))
        return await handoff.deliver(client, settings, timeout=timedelta(seconds=10))

    assert await start_ticket_metrics(client, settings, event, Metric.OPENED) is True
    assert await start_ticket_metrics(client, settings, event, Metric.OPENED) is False
    opened = harness.request(Metric.OPENED, settings).workflow_id
    handle = client.get_workflow_handle(opened, result_type=TicketMetricsResult)
    assert (await handle.result()).outcome == "sent"
    # Even after the run finished, the id stays taken: a late redelivery sends nothing.
    assert await start_ticket_metrics(client, settings, event, Metric.OPENED) is False
    assert len(harness.apis.klaviyo.posted) == 1
    # The other metric of the same ticket is its own workflow.
    assert await start_ticket_metrics(client, settings, event, Metric.RESOLVED) is True
    resolved = harness.request(Metric.RESOLVED, settings).workflow_id
    await client.get_workflow_handle(resolved).result()
    assert [p.attributes["unique_id"] for p in harness.apis.klaviyo.posted] == [
        f"zendesk-{harness.ticket_id}-opened",
        f"zendesk-{harness.ticket_id}-resolved",
    ]

    # The recorded history replays without non-determinism against today's code.
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[TicketMetrics], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


@pytest.mark.parametrize(
    ("external_id", "awaited"),
    [("sms-conversation-15550100001-15551230001", True), ("crm-4411", False), (None, False)],
)
def test_only_a_ticket_named_after_a_conversation_has_its_record_awaited(
    harness: Harness, external_id: str | None, awaited: bool
) -> None:
    event = ZendeskEvent.model_validate(
        {
            "type": "zen:event-type:ticket.created",
            "id": "01HZY",
            "time": OPENED_AT.isoformat(),
            "detail": {"id": str(harness.ticket_id), "external_id": external_id},
        }
    )
    assert metrics_input(event, Metric.OPENED, harness.settings).opened_by_smsdesk is awaited

"""What an operator can see without reading logs: /metrics counts events in by kind and how
they were made durable, API requests by endpoint and answer, the intake backlog and the Zendesk
budget; /readyz says whether Temporal and the database answer; /healthz that the process does."""

from __future__ import annotations

import math

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from devstack.processes import binary
from infra import temporal
from tests.helpers.stack import running_stack
from tests.helpers.tickets import first_ticket
from webhooks.app import create_app, watch_intake


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_events_requests_backlog_and_budget(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    # The door waits for Temporal as long as it takes: on a busy machine a text can outlive the
    # default 0.1 s wait and be counted `journaled`, which tests/intake/ covers.
    async with running_stack(temporal_env.client, engine, intake_wait_seconds=10) as stack:
        customer = await stack.new_customer()
        before = samples((await stack.http.get(stack.settings.public_base_url + "/metrics")).text)
        await stack.text(customer, "Where is my order?")
        await first_ticket(stack, customer)
        await stack.settled(customer)
        response = await stack.http.get(stack.settings.public_base_url + "/metrics")
        assert response.status_code == 200
        after = samples(response.text)

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("smsdesk_events_total", kind="inbound_sms", outcome="accepted") == 1
    created = grew(
        "smsdesk_api_requests_total",
        service="zendesk",
        method="POST",
        endpoint="/api/v2/tickets",
        status="201",
    )
    assert created == 1
    assert after[("smsdesk_intake_backlog_events", frozenset())] == 0
    assert after[("smsdesk_zendesk_budget_requests_per_minute", frozenset())] == 60_000


async def test_readyz_says_which_dependency_does_not_answer(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_stack(temporal_env.client, engine) as stack:
        ready = await stack.http.get(stack.settings.public_base_url + "/readyz")
        alive = await stack.http.get(stack.settings.public_base_url + "/healthz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "temporal": True,
        "database": True,
    }
    assert alive.json() == {"status": "ok"}

    gone = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"))
    address = gone.client.service_client.config.target_host
    settings = Settings(_env_file=None, temporal_address=address)  # type: ignore[call-arg]
    client = await temporal.connect(settings)  # as the webhook process makes its client
    await gone.shutdown()
    app = create_app(settings, temporal=client, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        answer = await http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not ready", "temporal": False, "database": True}


def test_a_scrape_with_the_database_away_reads_the_backlog_as_unknown() -> None:
    gone = create_engine("sqlite:////nonexistent-folder/smsdesk.db")
    watch_intake(gone)
    backlog = REGISTRY.get_sample_value("smsdesk_intake_backlog_events")
    oldest = REGISTRY.get_sample_value("smsdesk_intake_oldest_age_seconds")
    assert backlog is not None and math.isnan(backlog)
    assert oldest is not None and math.isnan(oldest)

"""The door (B9): a webhook's event is durable before its 2xx, even with Temporal away.

Temporal down → the event is journaled and the webhook still answers 200, fast; a redelivery
is not journaled twice; Temporal busy with as many events as the process may hand it → the next
is journaled at once; the database refusing too → 503, never a 2xx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import migrations
from core.settings import Settings
from devstack.processes import binary
from infra import temporal
from infra.db import make_engine
from intake import journal
from webhooks.app import create_app
from webhooks.signatures import twilio_signature

SENDER = "+15550100001"


@pytest.fixture(scope="module")
async def gone_temporal() -> AsyncIterator[Client]:
    """A client of a server that was up when the webhooks started, then went away."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=binary("temporal"))
    address = env.client.service_client.config.target_host
    client = await temporal.connect(Settings(_env_file=None, temporal_address=address))  # type: ignore[call-arg]
    await env.shutdown()
    yield client


def _settings(client: Client, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=client.service_client.config.target_host,
        twilio_auth_token="token",
        sms_numbers=SENDER,
        public_base_url="http://test",
        **overrides,  # type: ignore[arg-type]
    )


async def _post_text(http: httpx.AsyncClient, sid: str, customer: str) -> httpx.Response:
    form = {"MessageSid": sid, "From": customer, "To": SENDER, "Body": "Hi"}
    signature = twilio_signature("token", "http://test/webhooks/sms/inbound", form)
    return await http.post(
        "/webhooks/sms/inbound", data=form, headers={"X-Twilio-Signature": signature}
    )


async def test_a_text_is_journaled_and_answered_200_when_temporal_is_down(
    gone_temporal: Client, engine: Engine
) -> None:
    # Temporal gets 3 s before it is thought away; the webhook waits for it only 0.1 s.
    settings = _settings(gone_temporal, intake_wait_seconds=0.1, intake_signal_timeout_seconds=3)
    app = create_app(settings, temporal=gone_temporal, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        started = time.monotonic()
        first, second, again = [
            await _post_text(http, sid, "+15551230001") for sid in ("SM1", "SM2", "SM1")
        ]
        answered_after = time.monotonic() - started
        door = app.state.receiver.door
        while not door.temporal_suspect() and time.monotonic() - started < 10:
            await asyncio.sleep(0.05)  # the first delivery runs on until the 3 s timeout
        backlog = await http.get("/intake")
    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 200]
    intake = [answer.headers["X-Smsdesk-Intake"] for answer in (first, second, again)]
    assert intake == ["journaled", "journaled", "duplicate"]
    # Answered long before Temporal's timeout: SM2 queues behind SM1 in the journal at once.
    assert answered_after < 2, answered_after
    rows = journal.waiting_events(engine, workflow_id=_workflow_id(), limit=10)
    assert [r.dedupe_key.rsplit("|", 1)[1] for r in rows] == ["sms:SM1", "sms:SM2"]
    assert backlog.json()["events"] == 2
    assert backlog.json()["oldest_age_seconds"] >= 0
    assert backlog.json()["temporal_suspect"] is True


async def test_a_text_that_finds_every_temporal_slot_taken_is_journaled_at_once(
    gone_temporal: Client, engine: Engine
) -> None:
    # One slot, and a Temporal that keeps the first text waiting for the whole (longest)
    # timeout: the second must not queue behind it.
    settings = _settings(
        gone_temporal,
        intake_max_in_flight=1,
        intake_wait_seconds=10,
        intake_signal_timeout_seconds=10,
    )
    app = create_app(settings, temporal=gone_temporal, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        slots = app.state.receiver.door.temporal_slots
        first = asyncio.create_task(_post_text(http, "SM1", "+15551230001"))
        while not slots.locked():
            await asyncio.sleep(0.01)
        second = await _post_text(http, "SM2", "+15551230002")
        waited_for_temporal = not first.done()
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
    assert second.status_code == 200
    assert waited_for_temporal  # the first still held the slot when the second was answered
    journaled = journal.waiting_events(engine, workflow_id=_workflow_id("15551230002"), limit=10)
    assert [r.dedupe_key.rsplit("|", 1)[1] for r in journaled] == ["sms:SM2"]
    assert journal.waiting_events(engine, workflow_id=_workflow_id(), limit=10) == []


async def test_only_a_busy_temporal_counts_as_shedding_load_not_a_failed_one(
    gone_temporal: Client, engine: Engine
) -> None:
    # The forwarder gives way to a door that sheds load; it must not give way to one that
    # journals because Temporal failed, or nothing would find out that Temporal is back.
    settings = _settings(gone_temporal, intake_max_in_flight=1)
    app = create_app(settings, temporal=gone_temporal, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        door = app.state.receiver.door
        door.suspect_temporal()
        while_failed = await _post_text(http, "SM1", "+15551230001")
        shed_while_failed = door.shed_within(60)
        door.trust_temporal()
        async with door.temporal_slots:  # every slot taken: Temporal is busy
            while_busy = await _post_text(http, "SM2", "+15551230002")
        shed_while_busy = door.shed_within(60)
    assert [while_failed.headers["X-Smsdesk-Intake"], while_busy.headers["X-Smsdesk-Intake"]] == [
        "journaled",
        "journaled",
    ]
    assert not shed_while_failed
    assert shed_while_busy


async def test_503_when_neither_temporal_nor_the_database_takes_the_text(
    gone_temporal: Client, tmp_path: Path
) -> None:
    migrations.upgrade(f"sqlite:///{tmp_path}/broken.db")
    engine = make_engine(f"sqlite:///{tmp_path}/broken.db")
    with engine.begin() as connection:  # the journal is gone: the database refuses the write
        connection.execute(text("DROP TABLE intakeevent"))
    (answer, _backlog_error) = await _text_without_backlog(gone_temporal, engine, "SM9")
    assert answer.status_code == 503
    assert "retry" in answer.json()["detail"]


async def _text_without_backlog(
    client: Client, engine: Engine, sid: str
) -> tuple[httpx.Response, None]:
    app = create_app(_settings(client), temporal=client, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http,
    ):
        answer = await _post_text(http, sid, "+15551230001")
    return answer, None


def _workflow_id(customer: str = "15551230001") -> str:
    return f"sms-conversation-{SENDER.lstrip('+')}-{customer}"

"""`starter.py reconcile` runs the reconciler now and prints its report; `starter.py intake`
shows what waits in the intake journal (B1, B9, B10)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

import migrations
import starter
from core.messages import InboundSms
from core.settings import Settings
from infra.db import make_engine
from intake.door import Door
from intake.handoff import Handoff
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, running_stack


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, engine, reconcile_settle_seconds=0) as running:
        yield running


async def run(stack: Stack, *argv: str) -> int:
    args = starter.parser().parse_args(argv)
    code: int = await args.run(stack.settings, args)
    return code


async def test_reconcile_repairs_a_lost_text_and_prints_what_it_did(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    await stack.configure("twilio", drop_next=1)
    sent = await stack.http.post(
        stack.url("twilio", "/_sandbox/inbound"),
        json={"from": customer, "to": ACCOUNT_NUMBER, "body": "Anyone there?"},
    )
    sid = sent.json()["sid"]
    capsys.readouterr()
    assert await run(stack, "reconcile", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sms"]["texts"] == [sid]

    # The same window again, in words: the text is read, and known, so nothing is repaired.
    assert await run(stack, "reconcile", "--since", report["sms"]["read_from"]) == 0
    assert "SMS: 1 inbound texts read; repaired 0 []" in capsys.readouterr().out


async def test_intake_shows_the_journal_backlog(
    temporal_env: WorkflowEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A database of its own: no webhook process forwards from it, so the event stays put.
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/held.db")  # type: ignore[call-arg]
    migrations.upgrade(settings.database_url)
    args = starter.parser().parse_args(["intake"])
    assert await args.run(settings, args) == 0
    assert "empty" in capsys.readouterr().out

    text = InboundSms(
        message_sid="SMwaiting",
        customer_phone="+15551230001",
        sender_number=ACCOUNT_NUMBER,
        body="held",
        received_at=datetime.now(UTC),
    )
    handoff = Handoff.conversation_event(
        text, sender_number=ACCOUNT_NUMBER, customer_phone="+15551230001", settings=settings
    )
    engine = make_engine(settings.database_url)
    door = Door(temporal_env.client, engine, settings)
    assert await door.journal(handoff) == "journaled"  # as the door does with Temporal away

    assert await args.run(settings, args) == 0
    assert "1 event(s) for 1 workflow(s) waiting for Temporal" in capsys.readouterr().out
    json_args = starter.parser().parse_args(["intake", "--json"])
    assert await json_args.run(settings, json_args) == 0
    backlog = json.loads(capsys.readouterr().out)
    assert backlog["events"] == 1 and backlog["workflows"] == 1
    assert 0 <= backlog["oldest_age_seconds"] < 60

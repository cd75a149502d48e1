"""`starter.py test-integration` (M19) against the whole stack on loopback: every hop passes on
a healthy stack, and a broken one is named with what to check. Also the set-up switches the
running product honours (M2, M3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import starter
from cli.integration import Run, hop_ticket
from devstack.sandboxes import ZENDESK_WEBHOOK_SECRET
from sandbox.signing import zendesk_headers
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack


async def check(stack: Stack, *argv: str) -> int:
    args = starter.parser().parse_args(["test-integration", *argv])
    code: int = await args.run(stack.settings, args)
    return code


def hop_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("[")]


async def test_every_hop_passes_on_a_running_stack(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    assert await check(stack, "--customer", customer) == 0
    out = capsys.readouterr().out
    [ticket] = await stack.tickets_of(customer)
    [text] = await stack.texts_to(customer)
    assert text["body"].startswith("smsdesk integration test reply")
    lines = hop_lines(out)
    assert lines[0].startswith("[ ok ] webhook accepted: 200 for SM")
    assert lines[1:] == [
        f"[ ok ] ticket created: #{ticket['id']}",
        f"[ ok ] agent reply sent: as SMS {text['sid']}",
    ]
    assert out.rstrip().endswith("PASS: 3 of 3 hops passed")


async def test_a_second_run_adds_to_the_open_ticket(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    assert await check(stack, "--customer", customer) == 0
    assert await check(stack, "--customer", customer) == 0
    [ticket] = await stack.tickets_of(customer)
    assert "the text was added to it" in capsys.readouterr().out
    assert len(await stack.texts_to(customer)) == 2 and len(ticket["comments"]) == 4


async def test_a_stopped_worker_fails_the_ticket_hop(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    await stack.stop_worker()
    customer = await stack.new_customer()
    assert await check(stack, "--customer", customer, "--timeout", "2") == 1
    lines = hop_lines(capsys.readouterr().out)
    assert lines[0].startswith("[ ok ] webhook accepted")
    assert lines[1].startswith("[FAIL] ticket created: no answer from the conversation within 2 s")
    assert f"is the worker running on task queue {stack.settings.temporal_task_queue}?" in lines[1]
    assert "/namespaces/default/workflows/sms-conversation-" in lines[1]
    assert lines[2] == "[skip] agent reply sent"


async def test_a_customer_without_consent_gets_no_ticket_and_is_told_why(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer(consent="NEVER_SUBSCRIBED")
    # A generous limit: the hop returns as soon as the text is handled, even on a loaded CI box.
    assert await check(stack, "--customer", customer, "--timeout", "30") == 1
    lines = hop_lines(capsys.readouterr().out)
    assert lines[1].startswith("[FAIL] ticket created: the text was handled but opened no ticket")
    assert f"is {customer} a consented SMS subscriber (M12)" in lines[1]


async def test_the_text_is_found_in_its_run_after_a_delivery_report_started_another(
    stack: Stack,
) -> None:
    """A conversation without a ticket completes once the text is handled; a delivery report
    of the auto-responder arriving after that starts a fresh run that never saw the text. The
    hop looks back to the run that did instead of waiting for the text in vain."""
    await stack.http.post(stack.url("twilio", "/_sandbox/config"), json={"webhooks_enabled": False})
    customer = await stack.new_customer(consent="NEVER_SUBSCRIBED")
    sid = "SM" + uuid.uuid4().hex
    assert (await stack.text(customer, "Hello?", sid=sid)).status_code == 200

    async def completed() -> bool | None:
        status = (await stack.conversation(customer).describe()).status
        return status is WorkflowExecutionStatus.COMPLETED or None

    await eventually(completed)
    [auto_responder] = await stack.texts_to(customer)
    assert (await stack.delivery_report(auto_responder, "delivered")).status_code == 200

    async def fresh_run() -> bool | None:
        view: dict[str, Any] = await stack.conversation(customer).query("state")
        return view["state"]["seen_ids"] == [f"delivery:{auto_responder['sid']}:delivered"] or None

    await eventually(fresh_run)
    run = Run(stack.settings, stack.http, stack.client, ACCOUNT_NUMBER, customer, 10, None)
    hop, view = await hop_ticket(run, sid)
    assert hop.passed is False
    assert hop.detail.startswith("the text was handled but opened no ticket"), hop.detail
    assert view is not None and f"sms:{sid}" in view["state"]["seen_ids"]


async def test_a_wrong_webhook_address_fails_the_first_hop(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.settings = stack.settings.model_copy(update={"public_base_url": "http://127.0.0.1:9"})
    assert await check(stack, "--customer", await stack.new_customer()) == 1
    lines = hop_lines(capsys.readouterr().out)
    assert lines[0].startswith("[FAIL] webhook accepted: http://127.0.0.1:9/webhooks/sms/inbound")
    assert "is the webhook server running?" in lines[0]
    assert lines[1:] == ["[skip] ticket created", "[skip] agent reply sent"]


# --- the switches set-up records --------------------------------------------------------------


@pytest.fixture
async def switched_off(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(
        temporal_env.client, engine, sms_sync_enabled=False, metrics_sync_enabled=False
    ) as running:
        yield running


async def zendesk_event(stack: Stack, kind: str) -> dict[str, str]:
    payload = {
        "type": f"zen:event-type:ticket.{kind}",
        "id": "01HZXTEST",
        "time": "2026-08-03T14:05:09Z",
        "detail": {"id": "424242", "status": "NEW", "brand_id": "360001"},
        "event": {},
    }
    raw = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        **zendesk_headers(ZENDESK_WEBHOOK_SECRET, raw, datetime.now(UTC)),
    }
    url = stack.settings.public_base_url + "/webhooks/zendesk"
    response = await stack.http.post(url, content=raw, headers=headers)
    assert response.status_code == 200
    answer: dict[str, str] = response.json()
    return answer


async def test_with_sync_switched_off_texts_and_ticket_events_are_ignored(
    switched_off: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await switched_off.new_customer()
    answered = await switched_off.text(customer, "Anyone there?")
    assert answered.status_code == 200
    assert "SMS_SYNC_ENABLED is off" in answered.headers["X-Smsdesk-Ignored"]
    assert await zendesk_event(switched_off, "created") == {
        "status": "ignored",
        "reason": "METRICS_SYNC_ENABLED is off: ticket events are not synced",
    }
    assert await check(switched_off, "--customer", customer) == 1
    assert "SMS_SYNC_ENABLED is off" in hop_lines(capsys.readouterr().out)[0]
    assert await switched_off.tickets() == []


async def test_with_sync_on_a_ticket_event_starts_its_metric(stack: Stack) -> None:
    assert await zendesk_event(stack, "created") == {"status": "accepted"}

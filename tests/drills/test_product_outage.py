"""Drill (B1, B10): the product's webhook server and worker are down for two minutes while
customers text and agents reply. The SMS provider and Zendesk try to deliver as they really
do (Twilio once more on a refused connection, Zendesk a few times) and give up. After the
restart, the reconciler finds everything from the window at its source and it is ticketed or
texted exactly once, within one reconcile period plus Zendesk's one-minute export lag.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from core.reconcile import ReconcileReport
from devstack.cluster import Cluster
from tests.drills.edges import Customer, customers_with_tickets, end_state_problems
from tests.drills.end_state import quiesce
from tests.drills.harness import remove_reconcile_schedule
from tests.helpers.stack import Stack, running_stack

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]

CUSTOMERS = 12
OUTAGE_SECONDS = 120.0
RECONCILE_EVERY = timedelta(seconds=20)
#: One reconcile period, Zendesk's export lag (60 s), the SMS settle time (15 s), and slack
#: for the runs' own work on a busy 2-core machine.
REPAIR_BOUND_SECONDS = RECONCILE_EVERY.total_seconds() + 60 + 15 + 45


async def test_two_minutes_without_webhooks_or_worker_are_repaired_exactly_once(
    temporal_env: WorkflowEnvironment, engine: Engine, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_env.client,
        engine,
        serve_webhooks=False,
        start_worker=False,
        reconcile_interval=RECONCILE_EVERY,
    ) as stack:
        # The parts under test, `uvicorn webapp:app` and `python worker.py`, as processes to kill.
        cluster = Cluster(stack.settings, tmp_path)
        try:
            await cluster.start_webhooks()
            cluster.start_worker()
            customers = await customers_with_tickets(stack, CUSTOMERS)
            cluster.processes["webhooks"].kill()
            cluster.processes["worker"].kill()
            down_at = time.monotonic()
            await _while_down(stack, customers, seconds=OUTAGE_SECONDS)
            lost = await _undelivered(stack)

            await cluster.start_webhooks()
            cluster.start_worker()
            restarted_at = time.monotonic()
            repaired_after = await _repaired(stack, customers, since=restarted_at)
            await quiesce(stack)
            problems = await end_state_problems(stack, customers)
            repairs = await _reconciled(stack)
        finally:
            cluster.stop()
            await remove_reconcile_schedule(stack.client)

    figures = {
        "outage_seconds": round(restarted_at - down_at),
        "deliveries_lost": lost,
        "repaired_seconds_after_restart": round(repaired_after, 1),
        "repaired": repairs,
    }
    print(f"\noutage drill: {json.dumps(figures)}")
    assert lost["twilio"] == CUSTOMERS * 3 and lost["zendesk"] >= CUSTOMERS
    assert repaired_after <= REPAIR_BOUND_SECONDS, figures
    # A text handed over by one run is in the log or the journal when the next looks.
    assert repairs["texts"] == CUSTOMERS * 3 and repairs["agent_comments"] == CUSTOMERS
    assert problems == [], "\n".join(problems[:30])


async def _while_down(stack: Stack, customers: list[Customer], *, seconds: float) -> None:
    """Each customer texts three times through the SMS provider and gets one agent reply,
    the last of them late in the window, inside Zendesk's export lag at the restart."""
    started = time.monotonic()
    for step in range(3):
        for customer in customers:
            body = f"down{step}-{customer.phone}"
            response = await stack.http.post(
                stack.url("twilio", "/_sandbox/inbound"),
                json={"from": customer.phone, "to": stack.settings.sms_numbers[0], "body": body},
            )
            response.raise_for_status()
            customer.texts.append(body)
        if step == 2:
            for customer in customers:
                reply = f"reply-{customer.phone}"
                customer.replies.append(reply)
                (await stack.agent_reply(customer.ticket_id, reply)).raise_for_status()
        await asyncio.sleep(seconds / 3 if step < 2 else 0)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))


async def _undelivered(stack: Stack) -> dict[str, int]:
    """Deliveries the services gave up on while the product was down."""
    lost = {}
    for service in ("twilio", "zendesk"):
        await stack.http.post(stack.url(service, "/_sandbox/flush"))
        deliveries = (await stack.http.get(stack.url(service, "/_sandbox/deliveries"))).json()
        lost[service] = sum(d["outcome"] == "failed" for d in deliveries["deliveries"])
    return lost


async def _repaired(stack: Stack, customers: list[Customer], *, since: float) -> float:
    """Seconds from `since` until the end state is complete (checked every 2 s)."""
    problems: list[str] = []
    try:
        async with asyncio.timeout(REPAIR_BOUND_SECONDS + 120):
            while problems := await end_state_problems(stack, customers):
                await asyncio.sleep(2)
    except TimeoutError:
        raise AssertionError("not repaired:\n" + "\n".join(problems[:20])) from None
    return time.monotonic() - since


async def _reconciled(stack: Stack) -> dict[str, int]:
    """What the scheduled reconcile runs reported repairing, summed by kind."""
    totals: Counter[str] = Counter()
    query = f'WorkflowType="Reconcile" AND TaskQueue="{stack.settings.temporal_task_queue}"'
    async for execution in stack.client.list_workflows(query):
        if execution.status is None or execution.status.name != "COMPLETED":
            continue
        handle = stack.client.get_workflow_handle(
            execution.id, run_id=execution.run_id, result_type=ReconcileReport
        )
        report = await handle.result()
        totals["texts"] += len(report.sms.texts)
        totals["agent_comments"] += len(report.zendesk.agent_comments)
        totals["status_changes"] += len(report.zendesk.status_changes)
        totals["opened"] += len(report.zendesk.opened)
        totals["resolved"] += len(report.zendesk.resolved)
    return dict(totals)

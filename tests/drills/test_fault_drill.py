"""Fault drill (B4, B5): over a thousand events from 110 customers while the sandbox
Zendesk fails or stalls one call in five, one webhook in ten arrives twice, and the worker (a
process of its own) is killed with SIGKILL twice and restarted. The end state must be exact:
every customer text in Zendesk once, every agent reply texted once (none after STOP), every
Opened/Resolved Ticket event sent once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from devstack.cluster import Cluster
from tests.drills.end_state import World, check, quiesce
from tests.drills.harness import ZendeskView, remove_reconcile_schedule
from tests.drills.replay import Replay
from tests.drills.script import generate
from tests.helpers.stack import running_stack

pytestmark = [pytest.mark.drill, pytest.mark.timeout(600)]

SEED = 20261121
#: 429 with Retry-After, 500, and a 2-second stall: each on about 7% of Zendesk API calls.
ZENDESK_FAULTS = (
    {"status": 429, "probability": 0.07, "retry_after": 1},
    {"status": 500, "probability": 0.075},
    {"delay_ms": 2000, "probability": 0.08},
)


async def test_a_thousand_events_through_faults_duplicates_and_two_kills(
    temporal_env: WorkflowEnvironment, engine: Engine, tmp_path: Path
) -> None:
    script = generate(seed=SEED, customers=110, first_number=8_100_000)
    assert script.events >= 1000
    started = time.monotonic()
    # The webhooks, sandboxes and replay share this test's one event loop, so the door's 1 s
    # wall-clock deadline measured the test's own CPU starvation and journaled most events.
    # Starved further on purpose (two busy loops on the 2 cores), the drill missed its 150 s
    # wait in four runs of four; in the three diagnosed the text was in Temporal, not the journal,
    # its workflow waiting for a workflow task; the one timed landed 5 s past the wait: slow, not
    # lost. Temporal slow or away is drilled in test_temporal_paused.py; here the door waits
    # its longest, so this drill checks faults, duplicates and kills.
    async with running_stack(
        temporal_env.client,
        engine,
        start_worker=False,
        intake_wait_seconds=10,
        intake_signal_timeout_seconds=10,
    ) as stack:
        cluster = Cluster(stack.settings, tmp_path)  # the worker under test: `python worker.py`
        cluster.start_worker()
        try:
            for customer in script.customers:
                await stack.http.post(
                    stack.url("klaviyo", "/_sandbox/profiles"),
                    json={
                        "phone_number": customer.phone,
                        "sms_marketing": "SUBSCRIBED" if customer.consented else "NEVER_SUBSCRIBED",
                    },
                )
            for fault in ZENDESK_FAULTS:
                await stack.arm_fault("zendesk", **fault)
            for service in ("zendesk", "twilio"):
                await stack.http.post(
                    stack.url(service, "/_sandbox/config"), json={"duplicate_probability": 0.1}
                )

            async with ZendeskView(stack) as view:
                replay = Replay(stack, view, cluster, script, kill_after=(0.35, 0.7), stagger=0.25)
                log = await replay.run()
            await stack.http.delete(stack.url("zendesk", "/_sandbox/faults"))
            await quiesce(stack)
            world = await World.read(stack)
            problems = check(script, world, stack)
            if problems:
                world.dump(tmp_path / "end-state.json", script)
            stats = (await stack.http.get(stack.url("zendesk", "/_sandbox/stats"))).json()
        finally:
            cluster.stop()
            await remove_reconcile_schedule(temporal_env.client)
        duplicates = [
            sum(
                d["duplicate"]
                for d in (await stack.http.get(stack.url(s, "/_sandbox/deliveries"))).json()[
                    "deliveries"
                ]
            )
            for s in ("zendesk", "twilio")
        ]

    print(
        f"\ndrill: {log.events} events ({log.deliveries} inbound deliveries, "
        f"{script.duplicated_texts} of them twice), worker killed at events {log.kills_at}, "
        f"{len(log.kills_at) + 1} worker starts; Zendesk faults injected {stats['faults_injected']}; "
        f"duplicate webhooks from Zendesk/SMS sandboxes (last 1000 each) {duplicates}; "
        f"end state: {len(world.tickets)} tickets, {len(world.texts)} texts sent, "
        f"{len(world.events)} Klaviyo events; {time.monotonic() - started:.0f} s"
    )
    assert log.kills_at and len(log.kills_at) == 2
    assert sum(stats["faults_injected"].values()) > 100
    assert problems == [], "\n".join(problems[:50]) + f"\n(end state in {tmp_path})"

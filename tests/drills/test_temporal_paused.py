"""Drill (B9): Temporal frozen (SIGSTOP) for 60 s while 300 texts and 30 agent replies
arrive. Every webhook is answered 2xx within 2 s (the intake journal holds what Temporal
cannot take), and once Temporal is back every event lands exactly once, in order per
conversation.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.settings import Settings
from devstack.cluster import Cluster
from devstack.processes import free_port
from intake import journal
from tests.drills.edges import customers_with_tickets, end_state_problems, latency_figures
from tests.drills.end_state import quiesce
from tests.helpers.stack import running_stack

pytestmark = [pytest.mark.drill, pytest.mark.timeout(600)]

CUSTOMERS = 30
ROUNDS = 10  # each customer texts once a round: 300 texts
PAUSE_SECONDS = 60.0


async def test_temporal_paused_for_a_minute_loses_and_doubles_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    # A Temporal server of its own: freezing the session's would stall every other test.
    temporal = Cluster(
        Settings(_env_file=None, temporal_address=f"127.0.0.1:{free_port()}"), tmp_path
    )
    try:
        server = await temporal.start_temporal()
        client = await temporal.client()
        async with running_stack(client, engine) as stack:
            customers = await customers_with_tickets(stack, CUSTOMERS)
            latencies: list[float] = []
            answers: list[int] = []

            async def text(phone: str, body: str) -> None:
                started = time.monotonic()
                response = await stack.text(phone, body)
                latencies.append(time.monotonic() - started)
                answers.append(response.status_code)

            server.pause()
            paused_at = time.monotonic()
            try:
                for round_ in range(ROUNDS):
                    sent = []
                    for customer in customers:
                        body = f"r{round_}-{customer.phone}"
                        customer.texts.append(body)
                        sent.append(text(customer.phone, body))
                    await asyncio.gather(*sent)
                    if round_ == ROUNDS // 2:  # agents answer mid-pause
                        for customer in customers:
                            reply = f"reply-{customer.phone}"
                            customer.replies.append(reply)
                            (await stack.agent_reply(customer.ticket_id, reply)).raise_for_status()
                    await asyncio.sleep((PAUSE_SECONDS - 5) / ROUNDS)
                backlog = journal.backlog(engine)
                await asyncio.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - paused_at)))
            finally:
                server.resume()
            resumed_at = time.monotonic()
            await stack.intake_drained(timeout=120)
            drained_after = time.monotonic() - resumed_at
            await quiesce(stack)
            problems = await end_state_problems(stack, customers)
            deliveries = (
                await stack.http.get(stack.url("zendesk", "/_sandbox/deliveries"))
            ).json()["deliveries"]
            failed = [d for d in deliveries if d["outcome"] != "delivered"]

        figures = {
            "texts": latency_figures(latencies),
            "journaled_at_peak": backlog.events,
            "drained_seconds_after_resume": round(drained_after, 1),
        }
        print(f"\npaused-Temporal drill: {json.dumps(figures)}")
        assert set(answers) == {200}
        assert max(latencies) < 2.0, figures
        assert backlog.events >= CUSTOMERS * ROUNDS  # Temporal really was away
        assert failed == [], failed[:5]
        assert problems == [], "\n".join(problems[:30])
    finally:
        temporal.stop()

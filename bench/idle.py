"""`--mode idle`: N open conversations at rest, what they cost, and a text to a cold one.

Every conversation gets one text, so it holds an open ticket and its workflow keeps running
(waiting for the next event). Once they rest, the worker's memory is read; then texts go, one
at a time, to conversations created first (long evicted from the worker's sticky cache: their
workflow is replayed from history) and to the last ones created (likely still cached).

"At rest" means the opening's tail is done too: every ticket's Opened Ticket event sent and
Zendesk's requests still. The probes used to go 20 s after the last text reached Zendesk;
in a run of 3,000 conversations opened at 40/s, 1,442 Opened Ticket runs were still going then,
and a probe took 349-675 ms after its webhook's answer, against 52-97 ms once they had finished
(54 s later). That was the 0.55-0.8 s "single text at rest" the README once left unexplained.

Each probe's time is kept in the order sent, beside the worker's long garbage collections
during the probes (from its log): with 10,000 conversations, one probe in twenty took 400+ ms.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.load import Text
from bench.measure import LIMITS, Customers, Latency, Observer, memory_mb, run_phase, texts_for
from devstack.cluster import Cluster

#: Probe texts per kind (cold, warm), sent one at a time.
PROBES = 20
#: After the opening's tail is done, the conversations rest this long before memory is read
#: (garbage collection runs).
REST_SECONDS = 20.0
#: The longest the bench waits for the opening's tail (Opened Ticket events) to finish.
SETTLE_LIMIT_SECONDS = 30 * 60.0
#: The workflows that make up the tail: one per ticket opened.
OPEN_METRICS_RUNS = "WorkflowType='TicketMetrics' AND ExecutionStatus='Running'"
#: What the worker logs of a long garbage collection (`core.process.watch_garbage_collections`).
_LONG_GC = re.compile(rb"garbage collection \(generation (\d)\) stopped the process for (\d+) ms")


@dataclass(frozen=True)
class IdlePlan:
    conversations: int
    create_rate: float
    seed: int = 11


async def _one_by_one(observer: Observer, texts: list[Text]) -> list[float]:
    """Accepted -> written, per text, each sent after the previous one is in Zendesk."""
    latencies: list[float] = []
    for text in texts:
        response = await observer.http.post(text.url, content=text.body, headers=text.headers)
        response.raise_for_status()
        accepted_at = time.monotonic()
        receipts = await observer.until_written({text.sid})
        if text.sid in receipts:
            latencies.append(receipts[text.sid] - accepted_at)
    return latencies


async def _settle(cluster: Cluster, observer: Observer) -> dict[str, Any]:
    """Wait until no Opened Ticket run is left and Zendesk's requests have stopped moving;
    say how long that took and how many runs were open when the wait began."""
    client = await cluster.client()
    started = time.monotonic()
    open_at_start = open_now = (await client.count_workflows(OPEN_METRICS_RUNS)).count
    while open_now:
        if time.monotonic() - started > SETTLE_LIMIT_SECONDS:
            raise RuntimeError("the opening's Opened Ticket events did not finish in 30 min")
        cluster.check_alive()
        await asyncio.sleep(2)
        open_now = (await client.count_workflows(OPEN_METRICS_RUNS)).count
    await observer.until_quiet(quiet_for=5.0)
    return {"seconds": round(time.monotonic() - started, 1), "metrics_runs_open": open_at_start}


def _long_collections(log: Path, since: int) -> list[dict[str, int]]:
    """The worker's long garbage collections logged after byte `since` of its log: a slow
    probe that one of them overlaps waited out the collector, not Temporal or Zendesk."""
    with log.open("rb") as lines:
        lines.seek(since)
        found = (_LONG_GC.search(line) for line in lines)
        return [{"generation": int(m[1]), "ms": int(m[2])} for m in found if m]


def _as_dict(latency: Latency | None) -> dict[str, float] | None:
    return asdict(latency) if latency else None


async def run_idle(cluster: Cluster, plan: IdlePlan) -> dict[str, Any]:
    rng = random.Random(plan.seed)
    async with httpx.AsyncClient(timeout=60, limits=LIMITS) as http:
        observer = Observer(cluster, http)
        customers = Customers(5_000_000, plan.conversations)
        await customers.register(cluster, http)
        baseline = memory_mb(cluster)
        url = cluster.settings.public_base_url
        opening = await run_phase(
            cluster,
            observer,
            name=f"open {plan.conversations} conversations",
            target="smsdesk",
            kind="new",
            texts=texts_for(
                cluster,
                base_url=url,
                customers=customers.phones,
                count=plan.conversations,
                words="hello",
                rng=rng,
            ),
            rate=plan.create_rate,
        )
        print(f"  opened {opening.written}/{opening.texts} at {opening.end_to_end_rate}/s")
        settled = await _settle(cluster, observer)
        print(f"  the opening's tail finished {settled['seconds']:.0f} s after its last text")
        await asyncio.sleep(REST_SECONDS)
        at_rest = memory_mb(cluster)

        def probes(phones: list[str], words: str) -> list[Text]:
            return texts_for(
                cluster, base_url=url, customers=phones, count=len(phones), words=words, rng=rng
            )

        worker_log = Path(cluster.processes["worker"].log_path)
        since = worker_log.stat().st_size
        cold = await _one_by_one(observer, probes(customers.phones[:PROBES], "cold"))
        warm = await _one_by_one(observer, probes(customers.phones[-PROBES:], "warm"))
        collections = _long_collections(worker_log, since)
        after = memory_mb(cluster)
    return {
        "conversations": plan.conversations,
        "opening": opening.as_dict(),
        "settled": settled,
        "memory_mb_before": baseline,
        "memory_mb_at_rest": at_rest,
        "memory_mb_after_probes": after,
        "cold_text_ms": _as_dict(Latency.of(cold)),
        "warm_text_ms": _as_dict(Latency.of(warm)),
        # In the order sent, to match a slow one with what else happened then.
        "probe_ms_in_order": {
            "cold": [round(s * 1000, 1) for s in cold],
            "warm": [round(s * 1000, 1) for s in warm],
        },
        "worker_long_collections_during_probes": collections,
    }

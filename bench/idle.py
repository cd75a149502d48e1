"""`--mode idle`: N open conversations at rest, what they cost, and a text to a cold one.

Every conversation gets one text, so it holds an open ticket and its workflow keeps running
(waiting for the next event). Once they rest, the worker's memory is read; then texts go, one
at a time, to conversations created first (long evicted from the worker's sticky cache: their
workflow is replayed from history) and to the last ones created (likely still cached).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from bench.load import Text
from bench.measure import LIMITS, Customers, Latency, Observer, memory_mb, run_phase, texts_for
from devstack.cluster import Cluster

#: Probe texts per kind (cold, warm), sent one at a time.
PROBES = 20
#: The conversations rest this long before memory is read (ticket metrics finish, GC runs).
REST_SECONDS = 20.0


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
        await asyncio.sleep(REST_SECONDS)
        at_rest = memory_mb(cluster)

        def probes(phones: list[str], words: str) -> list[Text]:
            return texts_for(
                cluster, base_url=url, customers=phones, count=len(phones), words=words, rng=rng
            )

        cold = await _one_by_one(observer, probes(customers.phones[:PROBES], "cold"))
        warm = await _one_by_one(observer, probes(customers.phones[-PROBES:], "warm"))
        after = memory_mb(cluster)
    return {
        "conversations": plan.conversations,
        "opening": opening.as_dict(),
        "memory_mb_before": baseline,
        "memory_mb_at_rest": at_rest,
        "memory_mb_after_probes": after,
        "cold_text_ms": _as_dict(Latency.of(cold)),
        "warm_text_ms": _as_dict(Latency.of(warm)),
    }

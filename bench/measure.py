"""One measured phase: offer texts at a rate, wait until Zendesk has them, and work out the
figures from what the sandbox saw (receipts, request counts) and what each process used.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench.cluster import cpu
from bench.load import LoadResult, Text, offer, prepare_text
from devstack.cluster import Cluster
from devstack.sandboxes import ACCOUNT_NUMBERS

#: uvicorn closes a keep-alive connection idle for 5 s; forgetting it sooner means a request is
#: never written to a connection the server is closing (an httpx.ReadError).
LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=2.0)
#: A phase is over when every accepted text is in Zendesk, or nothing new arrived for this long.
STALL_SECONDS = 30.0


@dataclass
class Latency:
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency | None:
        if not seconds:
            return None
        ms = sorted(s * 1000 for s in seconds)

        def at(q: float) -> float:
            return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1)

        return cls(p50=at(0.50), p95=at(0.95), p99=at(0.99), max=round(ms[-1], 1))


@dataclass
class Phase:
    name: str
    target: str  # "smsdesk" or "bridge"
    kind: str  # "new" (first text of each conversation) or "steady"
    offered_rate: float
    texts: int
    accepted: int
    late_sends: int
    accepted_rate: float
    written: int
    end_to_end_rate: float
    #: Webhook answered 200 -> the write reached Zendesk (smsdesk: the durable path).
    accepted_to_write_ms: Latency | None
    #: Webhook sent -> the write reached Zendesk (comparable for both targets).
    sent_to_write_ms: Latency | None
    zendesk_requests: int
    zendesk_requests_per_text: float
    zendesk_requests_by_route: dict[str, int]
    zendesk_statuses: dict[str, int]
    cpu_seconds: dict[str, float]
    #: Share of the machine's CPU used by processes outside this benchmark during the phase
    #: (another test run, say): above a few percent the figures understate what smsdesk does.
    other_cpu_share: float
    wall_seconds: float
    memory_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Texts that more than one write named (a duplicate comment): 0 when exactly once holds.
    written_twice: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Observer:
    """Reads the sandbox Zendesk's counters and receipts."""

    def __init__(self, cluster: Cluster, http: httpx.AsyncClient) -> None:
        self.cluster = cluster
        self.http = http

    async def stats(self) -> dict[str, Any]:
        response = await self.http.get(self.cluster.url("zendesk", "/_sandbox/stats"))
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    async def receipts(self) -> tuple[dict[str, float], Counter[str]]:
        response = await self.http.get(self.cluster.url("zendesk", "/_sandbox/receipts"))
        response.raise_for_status()
        payload = response.json()
        return payload["receipts"], Counter(payload["statuses"])

    async def written_twice(self, sids: set[str]) -> int:
        """How many of `sids` more than one write named: duplicate comments."""
        response = await self.http.get(self.cluster.url("zendesk", "/_sandbox/receipts"))
        response.raise_for_status()
        return len(sids & set(response.json()["repeated"]))

    async def until_written(
        self, sids: set[str], *, stall_seconds: float = STALL_SECONDS
    ) -> dict[str, float]:
        """Receipts of `sids`, once all are in or nothing new arrived for `stall_seconds`."""
        seen, last_progress = 0, time.monotonic()
        while True:
            receipts, _ = await self.receipts()
            done = sum(1 for sid in sids if sid in receipts)
            if done == len(sids):
                return receipts
            if done > seen:
                seen, last_progress = done, time.monotonic()
            elif time.monotonic() - last_progress > stall_seconds:
                return receipts
            self.cluster.check_alive()
            await asyncio.sleep(0.5)

    async def until_quiet(self, quiet_for: float = 2.0) -> dict[str, Any]:
        """Request counts once they stopped moving (e.g. ticket metrics read after a create)."""
        stats = await self.stats()
        still_since = time.monotonic()
        while time.monotonic() - still_since < quiet_for:
            await asyncio.sleep(0.5)
            now = await self.stats()
            if now["requests"] != stats["requests"]:
                stats, still_since = now, time.monotonic()
        return stats


class Customers:
    """Customers with SMS consent in the Klaviyo sandbox, one phone number each."""

    def __init__(self, first: int, count: int) -> None:
        self.phones = [f"+1555{first + i:07d}" for i in range(count)]

    async def register(self, cluster: Cluster, http: httpx.AsyncClient) -> None:
        gate = asyncio.Semaphore(32)

        async def one(phone: str) -> None:
            async with gate:
                for attempt in range(3):  # an upsert: safe to repeat after a dropped connection
                    try:
                        response = await http.post(
                            cluster.url("klaviyo", "/_sandbox/profiles"),
                            json={"phone_number": phone, "sms_marketing": "SUBSCRIBED"},
                        )
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                        continue
                    response.raise_for_status()
                    return

        await asyncio.gather(*(one(phone) for phone in self.phones))


def texts_for(
    cluster: Cluster,
    *,
    base_url: str,
    customers: Sequence[str],
    count: int,
    words: str,
    rng: random.Random,
) -> list[Text]:
    """`count` texts spread over `customers`: each round visits every customer once, in a new
    order, so one customer's texts are far apart (steady state, no bursts)."""
    token = cluster.settings.twilio_auth_token
    assert token is not None
    url = base_url.rstrip("/") + "/webhooks/sms/inbound"
    order: list[str] = []
    while len(order) < count:
        round_ = list(customers)
        rng.shuffle(round_)
        order += round_
    return [
        prepare_text(
            url=url,
            signing_url=url,
            auth_token=token.get_secret_value(),
            customer=customer,
            to=ACCOUNT_NUMBERS[0],
            words=f"{words} {index}",
        )
        for index, customer in enumerate(order[:count])
    ]


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    keys = set(after) | set(before)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)
    }


async def run_phase(
    cluster: Cluster,
    observer: Observer,
    *,
    name: str,
    target: str,
    kind: str,
    texts: list[Text],
    rate: float,
) -> Phase:
    before_stats = await observer.stats()
    _, before_statuses = await observer.receipts()
    before_cpu = cpu(cluster)
    load: LoadResult = await offer(texts, rate=rate)
    accepted = load.accepted
    receipts = await observer.until_written({o.text.sid for o in accepted})
    after_stats = await observer.until_quiet()
    written_twice = await observer.written_twice({o.text.sid for o in accepted})
    _, after_statuses = await observer.receipts()
    wall = time.monotonic() - load.started
    after_cpu = cpu(cluster)

    written = [o for o in accepted if o.text.sid in receipts]
    last_answer = max((o.answered_at or 0.0) for o in load.outcomes)
    last_write = max((receipts[o.text.sid] for o in written), default=load.started)
    used = {k: round(after_cpu[k] - before_cpu.get(k, 0.0), 2) for k in after_cpu}
    requests = _delta(after_stats["requests"], before_stats["requests"])
    total_requests = sum(requests.values())
    return Phase(
        name=name,
        target=target,
        kind=kind,
        offered_rate=rate,
        texts=len(texts),
        accepted=len(accepted),
        late_sends=load.late,
        accepted_rate=round(len(accepted) / max(last_answer - load.started, 1e-9), 1),
        written=len(written),
        end_to_end_rate=round(len(written) / max(last_write - load.started, 1e-9), 1),
        accepted_to_write_ms=Latency.of(
            [receipts[o.text.sid] - (o.answered_at or 0.0) for o in written]
        )
        if target == "smsdesk"
        else None,
        sent_to_write_ms=Latency.of([receipts[o.text.sid] - o.sent_at for o in written]),
        zendesk_requests=total_requests,
        zendesk_requests_per_text=round(total_requests / max(len(written), 1), 3),
        zendesk_requests_by_route=requests,
        zendesk_statuses=dict(after_statuses - before_statuses),
        cpu_seconds=used,
        other_cpu_share=round(
            (used["machine"] - sum(v for k, v in used.items() if k != "machine"))
            / (wall * (os.cpu_count() or 1)),
            3,
        ),
        wall_seconds=round(wall, 1),
        memory_mb=memory_mb(cluster),
        written_twice=written_twice,
    )


def memory_mb(cluster: Cluster) -> dict[str, dict[str, float]]:
    return {
        name: {"rss": round(m.rss / 2**20, 1), "peak": round(m.peak / 2**20, 1)}
        for name, m in cluster.memory().items()
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0

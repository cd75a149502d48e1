"""`--mode storm`: a campaign goes out and thousands reply at once (issue 11, B14).

A share of the customers already have an open ticket (opened first, with no limit: that part is
not under test). Then the worker is restarted on the Enterprise budgets smsdesk is given
(ZENDESK_REQUESTS_PER_MINUTE, ZENDESK_UPDATE_REQUESTS_PER_MINUTE), the sandbox Zendesk enforces
the account's plan and Update Ticket's own 100 a minute (and 30 updates per ticket per 10
minutes, always on), and texts arrive far faster than the budgets drain: every customer texts,
some several times. What a production user asks of such an hour is read off what the webhooks
answered and what Zendesk saw (the sandbox's request log): webhook latency and any non-2xx, the
429s, requests per minute by endpoint against the budget lines, the backlog over time, how close
the drain came to the fastest the budgets allow, and how many texts each update carried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from bench.load import Outcome, Text, offer
from bench.measure import LIMITS, Customers, Latency, Observer, memory_mb, run_phase, texts_for
from devstack.cluster import Cluster

#: Routes that are Zendesk's Update Ticket (and Update Many, which counts against it too).
UPDATE_ROUTES = {"PUT /api/v2/tickets/{ticket_id}", "PUT /api/v2/tickets/update_many"}
#: Sampling period of the backlog timeline.
SAMPLE_SECONDS = 5.0
#: The drain is over when every accepted text is in Zendesk, or nothing landed for this long
#: (longer than a budget pause after a 429 may last).
STALL_SECONDS = 150.0


@dataclass(frozen=True)
class StormPlan:
    rate: float = 200.0
    duration: float = 60.0
    customers: int = 3000
    #: Customers whose conversation has an open ticket before the storm.
    open_share: float = 1 / 3
    #: smsdesk's budgets, as an Enterprise account would set them.
    account_rpm: int = 700
    update_rpm: int = 70
    #: Zendesk's own limit on Update Ticket per account.
    zendesk_update_limit: int = 100
    seed: int = 17


@dataclass
class Sample:
    at: float  # seconds since the storm began
    accepted: int
    written: int
    journaled: int


def storm_order(customers: list[str], count: int, rng: random.Random) -> list[str]:
    """Every customer texts once (while there are texts to go round); the rest go to a few
    chatty customers more than to the others, as replies to a campaign do."""
    first = customers[:count]
    rng.shuffle(first)
    extra = rng.choices(
        customers, weights=[1 / (rank + 1) ** 0.7 for rank in range(len(customers))], k=count
    )[: max(0, count - len(first))]
    order = first + extra
    rng.shuffle(order)
    return order


def per_minute(requests: list[dict[str, Any]], start: float) -> list[dict[str, int]]:
    """Requests answered in each minute since `start`, by route."""
    minutes: list[Counter[str]] = []
    for request in requests:
        index = int((request["at"] - start) // 60)
        while len(minutes) <= index:
            minutes.append(Counter())
        minutes[index][request["route"]] += 1
    return [dict(minute) for minute in minutes]


async def _sample(
    cluster: Cluster,
    http: httpx.AsyncClient,
    observer: Observer,
    load: _Progress,
    samples: list[Sample],
) -> None:
    """Append a sample every few seconds until cancelled."""
    while True:
        receipts, _ = await observer.receipts()
        intake = (await http.get(cluster.url("webhooks", "/intake"))).json()
        samples.append(
            Sample(
                at=round(time.monotonic() - load.started, 1),
                accepted=load.accepted(),
                written=sum(1 for sid in load.sids if sid in receipts),
                journaled=int(intake["events"]),
            )
        )
        await asyncio.sleep(SAMPLE_SECONDS)


@dataclass
class _Progress:
    started: float
    sids: set[str]
    outcomes: list[Outcome]

    def accepted(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.accepted)


async def _open_conversations(
    cluster: Cluster, observer: Observer, phones: list[str], rng: random.Random
) -> None:
    await run_phase(
        cluster,
        observer,
        name="open tickets before the storm (no limit)",
        target="smsdesk",
        kind="new",
        texts=texts_for(
            cluster,
            base_url=cluster.settings.public_base_url,
            customers=phones,
            count=len(phones),
            words="order",
            rng=rng,
        ),
        rate=25,
    )


async def _enforce_budgets(cluster: Cluster, http: httpx.AsyncClient, plan: StormPlan) -> None:
    await cluster.restart_worker(
        zendesk_requests_per_minute=plan.account_rpm,
        zendesk_update_requests_per_minute=plan.update_rpm,
    )
    configured = await http.post(
        cluster.url("zendesk", "/_sandbox/config"),
        json={
            "requests_per_minute": plan.account_rpm,
            "update_ticket_requests_per_minute": plan.zendesk_update_limit,
        },
    )
    configured.raise_for_status()
    await http.delete(cluster.url("zendesk", "/_sandbox/receipts"))


def _storm_texts(
    cluster: Cluster, phones: list[str], plan: StormPlan, rng: random.Random
) -> list[Text]:
    # One "round" over the whole order: texts_for shuffles it once more and keeps every entry,
    # so the chatty customers' repeats stay as storm_order drew them.
    order = storm_order(phones, int(plan.rate * plan.duration), rng)
    return texts_for(
        cluster,
        base_url=cluster.settings.public_base_url,
        customers=order,
        count=len(order),
        words="storm reply",
        rng=rng,
    )


async def run_storm(cluster: Cluster, plan: StormPlan) -> dict[str, Any]:
    rng = random.Random(plan.seed)
    async with httpx.AsyncClient(timeout=120, limits=LIMITS) as http:
        observer = Observer(cluster, http)
        customers = Customers(5_000_000, plan.customers)
        await customers.register(cluster, http)
        opened = customers.phones[: int(plan.customers * plan.open_share)]
        await _open_conversations(cluster, observer, opened, rng)
        await _enforce_budgets(cluster, http, plan)
        texts = _storm_texts(cluster, customers.phones, plan, rng)

        wall_start = time.time()
        progress = _Progress(time.monotonic(), {t.sid for t in texts}, [])
        samples: list[Sample] = []
        sampler = asyncio.create_task(_sample(cluster, http, observer, progress, samples))
        load = await offer(texts, rate=plan.rate, outcomes=progress.outcomes)
        accepted = {o.text.sid for o in load.accepted}
        receipts = await observer.until_written(accepted, stall_seconds=STALL_SECONDS)
        # Counted when the last text landed: a duplicate of an earlier one had the drain to show.
        written_twice = await observer.written_twice(accepted)
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        log = (await http.get(cluster.url("zendesk", "/_sandbox/requests"))).json()["requests"]
    timeline = [asdict(sample) for sample in samples]
    return _report(plan, load.outcomes, receipts, log, wall_start, progress.started, timeline) | {
        "written_twice": written_twice,
        "memory_mb": memory_mb(cluster),
    }


def budget_use(
    minutes: list[dict[str, int]], timeline: list[dict[str, Any]], plan: StormPlan
) -> list[dict[str, Any]]:
    """Each full minute: the share of each budget used, and whether a backlog existed then."""
    rows = []
    for index, routes in enumerate(minutes[:-1]):  # the last minute is partial
        end = (index + 1) * 60
        waiting = [s for s in timeline if s["at"] <= end]
        backlog = bool(waiting) and waiting[-1]["accepted"] > waiting[-1]["written"]
        updates = sum(n for route, n in routes.items() if route in UPDATE_ROUTES)
        account_use = sum(routes.values()) / plan.account_rpm
        update_use = updates / plan.update_rpm
        rows.append(
            {
                "minute": index + 1,
                "account": round(account_use, 3),
                "update": round(update_use, 3),
                # New tickets wait on the account budget, comments on Update Ticket's: the
                # one nearest its line is the one holding texts back that minute.
                "binding": round(max(account_use, update_use), 3),
                "backlog": backlog,
            }
        )
    return rows


def _report(
    plan: StormPlan,
    outcomes: list[Outcome],
    receipts: dict[str, float],
    log: list[dict[str, Any]],
    wall_start: float,
    started: float,
    timeline: list[dict[str, Any]],
) -> dict[str, Any]:
    answered = [o for o in outcomes if o.answered_at is not None]
    webhook = Latency.of([o.answered_at - o.sent_at for o in answered if o.answered_at])
    seconds_by_intake: dict[str, list[float]] = defaultdict(list)
    for o in answered:
        if o.answered_at and o.intake:
            seconds_by_intake[o.intake].append(o.answered_at - o.sent_at)
    # Accepted by Temporal straight away, or journaled: where the slow answers come from.
    by_intake: dict[str, dict[str, float]] = {}
    for path, seconds in sorted(seconds_by_intake.items()):
        latency = Latency.of(seconds)
        assert latency is not None  # a path is listed only with an answer
        by_intake[path] = asdict(latency) | {"texts": len(seconds)}
    non_2xx = Counter(str(o.status) for o in outcomes if o.status is None or o.status >= 300)
    written = [o for o in outcomes if o.accepted and o.text.sid in receipts]
    storm_log = [r | {"route": f"{r['method']} {r['route']}"} for r in log if r["at"] >= wall_start]
    ok = [r for r in storm_log if r["status"] < 400]
    updates = [r for r in ok if r["route"] in UPDATE_ROUTES]
    last_write = max((receipts[o.text.sid] for o in written), default=started)
    drain_minutes = (last_write - started) / 60
    account_minutes, update_minutes = len(ok) / plan.account_rpm, len(updates) / plan.update_rpm
    minimum_minutes = max(account_minutes, update_minutes)
    binding = "update" if update_minutes >= account_minutes else "account"
    minutes = per_minute(ok, wall_start)
    use = budget_use(minutes, timeline, plan)
    busy = [row[binding] for row in use if row["backlog"]]
    binding_each_minute = [row["binding"] for row in use if row["backlog"]]
    return {
        "plan": asdict(plan),
        "texts": len(outcomes),
        "accepted": sum(1 for o in outcomes if o.accepted),
        "written": len(written),
        "webhook_ms": asdict(webhook) if webhook else None,
        "webhook_ms_by_intake": by_intake,
        "webhook_non_2xx": dict(non_2xx),
        "zendesk_requests": len(ok),
        "update_requests": len(updates),
        "status_429": sum(1 for r in storm_log if r["status"] == 429),
        "requests_per_minute": minutes,
        "binding_budget": binding,
        "budget_use_per_minute": use,
        "binding_budget_use_while_backlog": round(sum(busy) / len(busy), 3) if busy else None,
        "each_minutes_binding_budget_use_while_backlog": (
            round(sum(binding_each_minute) / len(binding_each_minute), 3)
            if binding_each_minute
            else None
        ),
        "drain_minutes": round(drain_minutes, 2),
        "minimum_minutes": round(minimum_minutes, 2),
        "drain_ratio": round(drain_minutes / minimum_minutes, 2) if minimum_minutes else None,
        "texts_per_update": round(len(written) / len(updates), 2) if updates else None,
        "timeline": timeline,
    }

"""`--mode budget`: does a burst use the account's Zendesk budget fully, with no 429?

The conversations are opened first with no limit (that part is not under test). Then the
worker is restarted with ZENDESK_REQUESTS_PER_MINUTE = `rpm`, the sandbox Zendesk enforces the
plan's `requests_per_minute` (a sliding minute, like Zendesk; `--zendesk-plan-rpm`, by default
the same), and texts arrive faster than the budget drains. Every Zendesk answer is timed by the
sandbox's receipt log, so the achieved rate, the busiest minute and the 429s are read off what
Zendesk saw.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from bench.measure import LIMITS, Customers, Observer, run_phase, texts_for
from devstack.cluster import Cluster


@dataclass(frozen=True)
class BudgetPlan:
    rpm: int
    #: The account's limit the sandbox Zendesk enforces (the plan); `rpm` is what smsdesk is
    #: told (ZENDESK_REQUESTS_PER_MINUTE), equal by default.
    plan_rpm: int
    customers: int
    burst_rate: float
    burst_duration: float
    seed: int = 13


def busiest_minute(times: list[float]) -> int:
    """The most answers in any 60-second window (Zendesk's limit is per sliding minute)."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 60:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_budget(cluster: Cluster, plan: BudgetPlan) -> dict[str, Any]:
    rng = random.Random(plan.seed)
    async with httpx.AsyncClient(timeout=120, limits=LIMITS) as http:
        observer = Observer(cluster, http)
        customers = Customers(4_000_000, plan.customers)
        await customers.register(cluster, http)
        url = cluster.settings.public_base_url
        await run_phase(
            cluster,
            observer,
            name="open conversations (no limit)",
            target="smsdesk",
            kind="new",
            texts=texts_for(
                cluster,
                base_url=url,
                customers=customers.phones,
                count=plan.customers,
                words="hello",
                rng=rng,
            ),
            rate=25,
        )
        await cluster.restart_worker(zendesk_requests_per_minute=plan.rpm)
        configured = await http.post(
            cluster.url("zendesk", "/_sandbox/config"), json={"requests_per_minute": plan.plan_rpm}
        )
        configured.raise_for_status()
        await http.delete(cluster.url("zendesk", "/_sandbox/receipts"))
        burst = await run_phase(
            cluster,
            observer,
            name=f"burst {plan.burst_rate:g}/s for {plan.burst_duration:g}s",
            target="smsdesk",
            kind="steady",
            texts=texts_for(
                cluster,
                base_url=url,
                customers=customers.phones,
                count=int(plan.burst_rate * plan.burst_duration),
                words="burst",
                rng=rng,
            ),
            rate=plan.burst_rate,
        )
        answers = (await http.get(cluster.url("zendesk", "/_sandbox/receipts?answers=1"))).json()
    times = sorted(t for t, _ in answers["answers"])
    statuses = [s for _, s in answers["answers"]]
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    budget_per_second = plan.plan_rpm / 60
    achieved = (len(times) - 1) / span if span else 0.0
    return {
        "plan_per_second": round(budget_per_second, 2),
        "smsdesk_budget_per_second": round(plan.rpm / 60, 2),
        "zendesk_requests": len(times),
        "seconds": round(span, 1),
        "achieved_per_second": round(achieved, 2),
        "budget_used": round(achieved / budget_per_second, 3),
        "busiest_minute": busiest_minute(times),
        "status_429": statuses.count(429),
        "texts": burst.texts,
        "texts_written": burst.written,
        "comments_per_text": round(len(times) / max(burst.written, 1), 3),
        "burst": burst.as_dict(),
    }

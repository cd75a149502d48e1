"""`--mode throughput`: smsdesk against the direct bridge, at each offered rate.

1. New conversations: the first text of every customer (requester + ticket + metrics), for
   both targets, at `--prewarm-rate`. Their cost per text is reported on its own.
   The sandbox's Zendesk webhooks are off during the bridge's phases (see
   `_zendesk_webhooks`).
2. Steady state: for each rate, `rate x duration` texts spread over the now open
   conversations, first through the bridge, then through smsdesk. One customer's texts are
   `customers / rate` seconds apart, so the steady figures are one comment per text (no
   coalescing) and no ticket nears Zendesk's per-ticket limit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from bench.cluster import start_bridge
from bench.measure import LIMITS, Customers, Observer, Phase, run_phase, texts_for
from devstack.cluster import Cluster


@dataclass(frozen=True)
class ThroughputPlan:
    rates: list[float]
    duration: float
    customers: int
    prewarm_rate: float
    #: False: the sandbox Zendesk sends no webhooks during smsdesk's steady phases. In steady
    #: state its only events are echoes of smsdesk's own comments, which the conversation
    #: ignores; switching them off measures what those echoes cost.
    zendesk_echo: bool = True
    seed: int = 7


async def run_throughput(cluster: Cluster, plan: ThroughputPlan) -> list[Phase]:
    rng = random.Random(plan.seed)
    phases: list[Phase] = []
    async with httpx.AsyncClient(timeout=60, limits=LIMITS) as http:
        observer = Observer(cluster, http)
        bridge_url = await start_bridge(cluster)
        targets = {
            "bridge": (bridge_url, Customers(6_000_000, plan.customers)),
            "smsdesk": (cluster.settings.public_base_url, Customers(7_000_000, plan.customers)),
        }
        for _url, customers in targets.values():
            await customers.register(cluster, http)
        for target, (url, customers) in targets.items():
            texts = texts_for(
                cluster,
                base_url=url,
                customers=customers.phones,
                count=plan.customers,
                words="first text",
                rng=rng,
            )
            await _zendesk_webhooks(http, cluster, on=target == "smsdesk")
            phase = await run_phase(
                cluster,
                observer,
                name=f"{target} new conversations",
                target=target,
                kind="new",
                texts=texts,
                rate=plan.prewarm_rate,
            )
            print(_line(phase), flush=True)
            phases.append(phase)
        for rate in plan.rates:
            for target, (url, customers) in targets.items():
                texts = texts_for(
                    cluster,
                    base_url=url,
                    customers=customers.phones,
                    count=int(rate * plan.duration),
                    words=f"steady {rate:g}/s",
                    rng=rng,
                )
                echo = target == "smsdesk" and plan.zendesk_echo
                await _zendesk_webhooks(http, cluster, on=echo)
                phase = await run_phase(
                    cluster,
                    observer,
                    name=f"{target} steady {rate:g}/s"
                    + ("" if echo or target == "bridge" else " no echo"),
                    target=target,
                    kind="steady",
                    texts=texts,
                    rate=rate,
                )
                print(_line(phase), flush=True)
                phases.append(phase)
    return phases


async def _zendesk_webhooks(http: httpx.AsyncClient, cluster: Cluster, *, on: bool) -> None:
    """The bridge's tickets would otherwise start smsdesk's ticket metrics (M15 counts every
    ticket): off while the bridge runs, so each target is measured alone."""
    response = await http.post(
        cluster.url("zendesk", "/_sandbox/config"), json={"webhooks_enabled": on}
    )
    response.raise_for_status()


def _line(phase: Phase) -> str:
    """A progress line while the run goes on; the full table comes at the end."""
    latency = phase.accepted_to_write_ms or phase.sent_to_write_ms
    p99 = f"{latency.p99:.0f} ms" if latency else "-"
    return (
        f"  {phase.name:<34} offered {phase.offered_rate:>5g}/s  end-to-end "
        f"{phase.end_to_end_rate:>6.1f}/s  p99 {p99:>9}  "
        f"{phase.zendesk_requests_per_text:.2f} Zendesk req/text  {phase.written}/{phase.texts}"
    )

"""smsdesk benchmark: the whole product as separate processes on loopback, driven over HTTP.

    python bench/run.py --mode throughput --rate 20,50,100 --duration 30
    python bench/run.py --mode idle --conversations 10000
    python bench/run.py --mode budget --budget-rpm 600
    python bench/run.py --mode storm   # 200 texts/s for 60 s from 3,000 customers

Writes `bench/results/<stamp>.json` (and a PNG for throughput) and prints a table. A script,
not a test: its figures depend on the machine, so nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

import httpx  # noqa: E402

from bench.budget import BudgetPlan, run_budget  # noqa: E402
from bench.cluster import plan_cluster  # noqa: E402
from bench.idle import IdlePlan, run_idle  # noqa: E402
from bench.measure import memory_mb  # noqa: E402
from bench.report import plot_storm, plot_throughput, storm_table, table, write_json  # noqa: E402
from bench.storm import StormPlan, run_storm  # noqa: E402
from bench.throughput import ThroughputPlan, run_throughput  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: Well above any Zendesk plan: the throughput runs measure smsdesk, not the budget.
UNLIMITED_RPM = 600_000
#: Longer than any run: the reconciler does not sweep during throughput, idle or budget runs.
NO_SWEEP = timedelta(days=1)
#: Write-ahead log, synced at checkpoints: the dev server's default (a rollback journal synced
#: on every commit) serialises every write behind a full sync.
DEFAULT_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal"}


def _pragmas(args: argparse.Namespace) -> dict[str, str]:
    given: list[str] = args.sqlite_pragma or []
    if given == ["none"]:
        return {}
    if not given:
        return dict(DEFAULT_PRAGMAS)
    return dict(item.split("=", 1) for item in given)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("throughput", "idle", "budget", "storm"), required=True)
    parser.add_argument("--rate", default="20,50,100", help="offered texts/s, comma separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--customers", type=int, default=600, help="open conversations used")
    parser.add_argument("--prewarm-rate", type=float, default=25.0)
    parser.add_argument(
        "--no-zendesk-echo",
        action="store_true",
        help="throughput: no Zendesk webhooks in steady phases (what the echoes cost)",
    )
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the run's folder (databases, process logs); by default only a failed run's is",
    )
    parser.add_argument("--conversations", type=int, default=10_000, help="idle mode")
    parser.add_argument("--create-rate", type=float, default=40.0, help="idle mode")
    parser.add_argument("--budget-rpm", type=int, default=600, help="budget mode")
    parser.add_argument(
        "--zendesk-plan-rpm", type=int, default=None, help="budget mode: the sandbox's limit"
    )
    parser.add_argument("--burst-rate", type=float, default=40.0, help="budget mode")
    parser.add_argument("--burst-duration", type=float, default=60.0, help="budget mode")
    parser.add_argument("--storm-rate", type=float, default=200.0, help="storm mode: texts/s")
    parser.add_argument("--storm-duration", type=float, default=60.0, help="storm mode: s")
    parser.add_argument(
        "--storm-customers", type=int, default=3000, help="storm mode: a third have a ticket"
    )
    parser.add_argument(
        "--database-url",
        help="the product database (default: SQLite in the run's folder); give an empty one, "
        "e.g. PostgreSQL as production runs it",
    )
    parser.add_argument(
        "--sqlite-pragma",
        action="append",
        metavar="PRAGMA=VALUE",
        help="for the Temporal dev server's SQLite file (repeatable; default: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULT_PRAGMAS.items())
        + "; 'none' for SQLite's own defaults)",
    )
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace, stamp: str) -> dict[str, Any]:
    state_dir = RESULTS / f"{stamp}-{args.mode}"
    # Budget mode opens its conversations unlimited too, then restarts the worker on the budget.
    # These modes measure the product and the plan's budget, not Update Ticket's own limit
    # (B14): both smsdesk's update budget and the sandbox's limit on it are lifted.
    # The reconciler's sweep (every 5 minutes by default) would re-read every ticket the run made
    # and, since M15 counts every ticket, send Opened Ticket events for the bridge's tickets too,
    # in the middle of some later phase: the throughput figures leave it out; the storm keeps it.
    sweeps = {} if args.mode == "storm" else {"reconcile_interval": NO_SWEEP}
    cluster = plan_cluster(
        state_dir,
        zendesk_requests_per_minute=UNLIMITED_RPM,
        zendesk_update_requests_per_minute=UNLIMITED_RPM,
        sqlite_pragmas=_pragmas(args),
        **sweeps,
        **({"database_url": args.database_url} if args.database_url else {}),
    )
    result: dict[str, Any] = {
        "mode": args.mode,
        "started": stamp,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "state_dir": str(state_dir),
        "sqlite_pragmas": cluster.sqlite_pragmas,
        "product_database": cluster.settings.database_url.split("://")[0],
    }
    # `kill` or `timeout` stops the run as Ctrl-C does: through the `finally` below, so that
    # no Temporal server, worker or sandbox outlives it.
    run = asyncio.current_task()
    assert run is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, run.cancel)
    await cluster.start()
    try:
        async with httpx.AsyncClient() as http:
            lifted = await http.post(
                cluster.url("zendesk", "/_sandbox/config"),
                json={"update_ticket_requests_per_minute": None},
            )
            lifted.raise_for_status()
        if args.mode == "throughput":
            plan = ThroughputPlan(
                rates=[float(r) for r in args.rate.split(",")],
                duration=args.duration,
                customers=args.customers,
                prewarm_rate=args.prewarm_rate,
                zendesk_echo=not args.no_zendesk_echo,
            )
            phases = await run_throughput(cluster, plan)
            result |= {"plan": vars(plan), "phases": [p.as_dict() for p in phases]}
            print("\n" + table(phases))
            png = RESULTS / f"{stamp}-throughput.png"
            if plot_throughput(png, phases):
                result["plot"] = str(png)
        elif args.mode == "idle":
            idle = IdlePlan(conversations=args.conversations, create_rate=args.create_rate)
            result |= {"plan": vars(idle), "idle": await run_idle(cluster, idle)}
        elif args.mode == "storm":
            storm_plan = StormPlan(
                rate=args.storm_rate,
                duration=args.storm_duration,
                customers=args.storm_customers,
            )
            storm = await run_storm(cluster, storm_plan)
            result |= {"storm": storm}
            print("\n" + storm_table(storm))
            png = RESULTS / f"{stamp}-storm.png"
            if plot_storm(png, storm):
                result["plot"] = str(png)
        else:
            budget = BudgetPlan(
                rpm=args.budget_rpm,
                plan_rpm=args.zendesk_plan_rpm or args.budget_rpm,
                customers=min(args.customers, 300),
                burst_rate=args.burst_rate,
                burst_duration=args.burst_duration,
            )
            result |= {"plan": vars(budget), "budget": await run_budget(cluster, budget)}
        result["memory_mb"] = memory_mb(cluster)
    finally:
        cluster.stop()
    return result


def _texts_not_written(report: object) -> int:
    """Accepted texts missing from Zendesk, over every phase of any mode's report."""
    if isinstance(report, list):
        return sum(_texts_not_written(item) for item in report)
    if not isinstance(report, dict):
        return 0
    own = 0
    if {"texts", "accepted", "written"} <= report.keys():  # a phase, not a timeline's point
        own = max(report["accepted"] - report["written"], 0)
    return own + sum(_texts_not_written(value) for value in report.values())


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        result = asyncio.run(_run(args, stamp))
    except asyncio.CancelledError:
        sys.exit("bench stopped by SIGTERM; its processes are stopped too")
    state_dir = result.pop("state_dir")
    missing = _texts_not_written(result)
    if missing:
        # A 2xx'd text that never reached Zendesk is the one failure the product must not
        # have: keep the databases and the processes' logs to find out where it stopped.
        print(f"\n{missing} accepted text(s) never reached Zendesk; run kept in {state_dir}")
    elif not args.keep_state:
        shutil.rmtree(state_dir, ignore_errors=True)
    path = RESULTS / f"{stamp}-{args.mode}.json"
    write_json(path, result)
    print(f"\nresults: {path}")
    if "plot" in result:
        print(f"plot:    {result['plot']}")


if __name__ == "__main__":
    main()

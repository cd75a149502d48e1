"""The results: a table on stdout, `bench/results/<stamp>.json`, and a PNG plot beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.measure import Phase

COLUMNS = (
    ("phase", 34),
    ("offered/s", 9),
    ("accepted/s", 10),
    ("e2e/s", 7),
    ("p50 ms", 8),
    ("p95 ms", 8),
    ("p99 ms", 8),
    ("ZD req/text", 11),
    ("429s", 5),
    ("written", 11),
    ("other CPU", 9),
)


def table(phases: list[Phase]) -> str:
    """Latency is accepted -> written for smsdesk and sent -> written for the bridge (which
    answers only after it wrote)."""
    lines = [
        "  ".join(
            name.rjust(width) if i else name.ljust(width) for i, (name, width) in enumerate(COLUMNS)
        )
    ]
    for phase in phases:
        latency = phase.accepted_to_write_ms or phase.sent_to_write_ms
        cells = [
            phase.name,
            f"{phase.offered_rate:g}",
            f"{phase.accepted_rate:.1f}",
            f"{phase.end_to_end_rate:.1f}",
            f"{latency.p50:.0f}" if latency else "-",
            f"{latency.p95:.0f}" if latency else "-",
            f"{latency.p99:.0f}" if latency else "-",
            f"{phase.zendesk_requests_per_text:.2f}",
            str(phase.zendesk_statuses.get("429", 0)),
            f"{phase.written}/{phase.texts}",
            f"{phase.other_cpu_share:.0%}",
        ]
        lines.append(
            "  ".join(
                cell.rjust(width) if i else cell.ljust(width)
                for i, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
            )
        )
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def plot_throughput(path: Path, phases: list[Phase]) -> bool:
    """End-to-end rate and p99 latency against the offered rate; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steady = [p for p in phases if p.kind == "steady"]
    figure, (rates, latencies) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, marker in (("smsdesk", "o"), ("bridge", "s")):
        points = [p for p in steady if p.target == target]
        offered = [p.offered_rate for p in points]
        rates.plot(offered, [p.end_to_end_rate for p in points], marker=marker, label=target)
        p99 = [
            (p.accepted_to_write_ms or p.sent_to_write_ms).p99  # type: ignore[union-attr]
            for p in points
            if p.accepted_to_write_ms or p.sent_to_write_ms
        ]
        latencies.plot(offered[: len(p99)], p99, marker=marker, label=f"{target} p99")
    top = max((p.offered_rate for p in steady), default=1.0)
    rates.plot([0, top], [0, top], linestyle=":", color="grey", label="offered")
    rates.set(xlabel="offered texts/s", ylabel="end-to-end texts/s", title="Throughput")
    latencies.axhline(250, linestyle=":", color="red", label="250 ms target")
    latencies.set(xlabel="offered texts/s", ylabel="ms", title="Webhook -> Zendesk p99")
    latencies.set_yscale("log")
    for axes in (rates, latencies):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def plot_storm(path: Path, storm: dict[str, Any]) -> bool:
    """Zendesk requests per minute by endpoint against the budget lines, and the backlog over
    time; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    plan = storm["plan"]
    minutes: list[dict[str, int]] = storm["requests_per_minute"]
    routes = sorted({route for minute in minutes for route in minute})
    figure, (requests, backlog) = plt.subplots(1, 2, figsize=(12, 4.5))
    bottom = [0] * len(minutes)
    for route in routes:
        counts = [minute.get(route, 0) for minute in minutes]
        requests.bar(range(1, len(minutes) + 1), counts, bottom=bottom, label=route)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    requests.axhline(plan["account_rpm"], color="red", linestyle=":", label="account budget")
    requests.axhline(plan["update_rpm"], color="purple", linestyle=":", label="update budget")
    requests.set(xlabel="minute of the storm", ylabel="requests", title="Zendesk requests/min")
    requests.legend(fontsize=6)
    timeline = storm["timeline"]
    at = [s["at"] for s in timeline]
    backlog.plot(at, [s["accepted"] - s["written"] for s in timeline], label="not yet in Zendesk")
    backlog.plot(at, [s["journaled"] for s in timeline], label="in the intake journal")
    backlog.set(xlabel="seconds", ylabel="texts", title="Backlog")
    backlog.legend()
    for axes in (requests, backlog):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def storm_table(storm: dict[str, Any]) -> str:
    """The storm's figures against the issue's targets, one line each."""
    webhook = storm["webhook_ms"] or {}
    use = storm["binding_budget_use_while_backlog"]
    lines = [
        f"texts offered / accepted / in Zendesk / written twice: {storm['texts']} / "
        f"{storm['accepted']} / {storm['written']} / {storm.get('written_twice', '-')}",
        f"webhook p50 {webhook.get('p50')} ms, p99 {webhook.get('p99')} ms, max "
        f"{webhook.get('max')} ms (target p99 <= 250, max <= 2000); non-2xx "
        f"{storm['webhook_non_2xx'] or 'none'}",
        "  by intake path: "
        + (
            "; ".join(
                f"{path} {row['texts']} texts, p50 {row['p50']} / p99 {row['p99']} / max "
                f"{row['max']} ms"
                for path, row in storm.get("webhook_ms_by_intake", {}).items()
            )
            or "-"
        ),
        f"Zendesk requests {storm['zendesk_requests']} (updates {storm['update_requests']}), "
        f"429s {storm['status_429']} (target 0)",
        f"binding budget: {storm['binding_budget']}, used "
        f"{_share(use)} of it while a backlog existed (target >= 90%); "
        f"each minute's binding budget (account or update, whichever is nearer its line): "
        f"{_share(storm.get('each_minutes_binding_budget_use_while_backlog'))}",
        f"drained in {storm['drain_minutes']} min; the budgets allow {storm['minimum_minutes']} "
        f"min at best (ratio {storm['drain_ratio']})",
        f"texts per update request: {storm['texts_per_update']}",
    ]
    return "\n".join(lines)

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

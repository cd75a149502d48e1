"""`report --plot FILE.png`: the report drawn as four panels with matplotlib (Agg, no display).

Volume per day and per tag; per agent and per tag the median (bar) and 90th percentile (tick)
of first response and resolution times, in seconds, minutes or hours, whichever reads best.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works on servers and in CI without a display

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.axes import Axes  # noqa: E402

from core.reporting import DurationStats, GroupRow, Report  # noqa: E402

#: Groups shown per panel; the busiest ones, the rest would not be readable.
MOST_GROUPS = 12
RESPONSE_COLOUR, RESOLUTION_COLOUR, VOLUME_COLOUR = "#4c78a8", "#f58518", "#54a24b"


def _unit(rows: list[GroupRow]) -> tuple[str, float]:
    """Seconds, minutes or hours, whichever keeps the longest p90 readable."""
    longest = max(
        (s.p90_seconds for r in rows for s in (r.first_response, r.resolution) if s), default=0
    )
    if longest < 120:
        return "seconds", 1.0
    return ("minutes", 60.0) if longest < 7200 else ("hours", 3600.0)


def _value(stats: DurationStats | None, scale: float, p90: bool = False) -> float:
    if stats is None:
        return math.nan  # nothing drawn: no ticket of the group has this duration
    return (stats.p90_seconds if p90 else stats.median_seconds) / scale


def _empty(ax: Axes, title: str, why: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _times(ax: Axes, rows: list[GroupRow], title: str) -> None:
    """Horizontal bars: median first response and resolution per group, p90 as a tick."""
    if not rows:
        _empty(ax, title, "no tickets in this grouping")
        return
    rows = rows[:MOST_GROUPS][::-1]  # busiest at the top
    unit, scale = _unit(rows)
    labels = [f"{r.group}\n{r.tickets} ticket{'s' if r.tickets != 1 else ''}" for r in rows]
    y = list(range(len(rows)))
    height = 0.38
    series: list[tuple[float, str, str, list[DurationStats | None]]] = [
        (height / 2, RESPONSE_COLOUR, "first response", [r.first_response for r in rows]),
        (-height / 2, RESOLUTION_COLOUR, "resolution", [r.resolution for r in rows]),
    ]
    for offset, colour, name, stats in series:
        positions = [i + offset for i in y]
        ax.barh(positions, [_value(s, scale) for s in stats], height, color=colour, label=name)
        ax.scatter(
            [_value(s, scale, p90=True) for s in stats],
            positions,
            marker="|",
            s=120,
            color="black",
            zorder=3,
        )
    ax.set_yticks(y, labels)
    ax.set_xlabel(f"{unit} (bar: median, tick: 90th percentile)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(axis="x", alpha=0.3)


def plot(report: Report, path: str | Path) -> None:
    """Draw the report to a PNG file."""
    figure, axes = plt.subplots(2, 2, figsize=(14, 9), constrained_layout=True)
    volume, tags_volume, agents, tags = axes[0][0], axes[0][1], axes[1][0], axes[1][1]

    days = report.by_day
    volume.bar([d.day.isoformat() for d in days], [d.tickets for d in days], color=VOLUME_COLOUR)
    volume.set_title(f"Ticket volume per day ({report.tickets} tickets)")
    volume.set_ylabel("tickets")
    volume.tick_params(axis="x", labelrotation=45)
    volume.grid(axis="y", alpha=0.3)

    top_tags = report.by_tag[:MOST_GROUPS][::-1]
    if top_tags:
        counts = [r.tickets for r in top_tags]
        tags_volume.barh([r.group for r in top_tags], counts, color=VOLUME_COLOUR)
        tags_volume.set_title("Ticket volume per tag")
        tags_volume.set_xlabel("tickets")
        tags_volume.grid(axis="x", alpha=0.3)
    else:
        _empty(tags_volume, "Ticket volume per tag", "no tags (Zendesk not asked)")

    _times(agents, report.by_agent, "Response and resolution per agent (first to answer)")
    _times(tags, report.by_tag, "Response and resolution per tag")
    source = {"none": "not asked of Zendesk"}.get(
        report.resolution_source, report.resolution_source
    )
    figure.suptitle(f"smsdesk SMS tickets (resolution: {source})")
    figure.savefig(path, dpi=100)
    plt.close(figure)

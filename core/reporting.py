"""Support reporting (M21): ticket volume, first response time and resolution time, overall, per
agent, per tag and per day. Pure computations only; `cli/report.py` gathers the data.

Definitions:
- A ticket is an SMS ticket the product made (a `TicketLink` row).
- Its start is the customer's first text on it (the message log), else its creation.
- First response: the first agent reply smsdesk texted on the ticket after its start.
- Resolution: when Zendesk says the ticket was solved (`solved_at` of its ticket metrics), else,
  for a solved or closed ticket, its `updated_at` (exact for a ticket left alone once solved, an
  upper bound otherwise: a closed ticket was last updated when it closed).
- Per agent: the agent who answered first ("no reply" when nobody did). Per tag: the ticket's
  Zendesk tags; a ticket counts once under each of its tags.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from core.tables import Direction, MessageLog, SendStatus, TicketLink

RESOLVED = ("solved", "closed")
NO_REPLY = "no reply"


class ZendeskTicketInfo(BaseModel):
    """What reporting needs of a Zendesk ticket."""

    id: int
    status: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    #: From Zendesk's ticket metrics, when the API gave them.
    solved_at: datetime | None = None

    @property
    def resolved_at(self) -> datetime | None:
        if self.solved_at is not None:
            return self.solved_at
        return self.updated_at if self.status in RESOLVED else None


class TicketFacts(BaseModel):
    ticket_id: int
    started_at: datetime
    first_reply_at: datetime | None = None
    first_responder: str = NO_REPLY
    resolved_at: datetime | None = None
    status: str | None = None
    tags: list[str] = []

    @property
    def first_response(self) -> timedelta | None:
        return _since(self.started_at, self.first_reply_at)

    @property
    def resolution(self) -> timedelta | None:
        return _since(self.started_at, self.resolved_at)


def _since(start: datetime, end: datetime | None) -> timedelta | None:
    # Zendesk's timestamps have whole seconds: a ticket solved in the second of its first text
    # can look solved before it; that is no time at all, not a negative one.
    return None if end is None else max(end - start, timedelta(0))


class DurationStats(BaseModel):
    count: int
    median_seconds: float
    p90_seconds: float


class GroupRow(BaseModel):
    group: str
    tickets: int
    resolved: int
    first_response: DurationStats | None
    resolution: DurationStats | None


class DayRow(BaseModel):
    day: date
    tickets: int


class Report(BaseModel):
    tickets: int
    overall: GroupRow
    by_agent: list[GroupRow]
    by_tag: list[GroupRow]
    by_day: list[DayRow]
    #: "zendesk metrics", "zendesk updated_at" or "none" (Zendesk not asked).
    resolution_source: str


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks, as
    numpy's default does.

    Raises:
        ValueError: for no values or q outside 0..100.
    """
    if not values or not 0 <= q <= 100:
        raise ValueError("percentile needs values and 0 <= q <= 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def duration_stats(durations: Iterable[timedelta | None]) -> DurationStats | None:
    """Median and 90th percentile of the known durations; None when there are none."""
    seconds = [d.total_seconds() for d in durations if d is not None]
    if not seconds:
        return None
    return DurationStats(
        count=len(seconds),
        median_seconds=percentile(seconds, 50),
        p90_seconds=percentile(seconds, 90),
    )


def group_row(name: str, facts: Sequence[TicketFacts]) -> GroupRow:
    return GroupRow(
        group=name,
        tickets=len(facts),
        resolved=sum(f.resolved_at is not None for f in facts),
        first_response=duration_stats(f.first_response for f in facts),
        resolution=duration_stats(f.resolution for f in facts),
    )


def grouped(
    facts: Iterable[TicketFacts], keys: Callable[[TicketFacts], Iterable[str]]
) -> list[GroupRow]:
    """One row per group, the busiest first; a ticket counts in every group `keys` names."""
    groups: dict[str, list[TicketFacts]] = defaultdict(list)
    for fact in facts:
        for key in keys(fact):
            groups[key].append(fact)
    rows = [group_row(name, members) for name, members in groups.items()]
    return sorted(rows, key=lambda row: (-row.tickets, row.group))


def volume_by_day(facts: Iterable[TicketFacts]) -> list[DayRow]:
    """Tickets started per calendar day (UTC), days without tickets included."""
    counts: dict[date, int] = defaultdict(int)
    for fact in facts:
        counts[fact.started_at.date()] += 1
    if not counts:
        return []
    first, last = min(counts), max(counts)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayRow(day=day, tickets=counts.get(day, 0)) for day in days]


def ticket_facts(
    links: Sequence[TicketLink],
    messages: Sequence[MessageLog],
    zendesk: dict[int, ZendeskTicketInfo],
    agent_names: dict[int, str],
) -> list[TicketFacts]:
    """Join the product's records of each ticket with what Zendesk says about it."""
    texts: dict[int, list[MessageLog]] = defaultdict(list)
    replies: dict[int, list[MessageLog]] = defaultdict(list)
    for row in messages:
        if row.ticket_id is None:
            continue
        if row.direction is Direction.INBOUND:
            texts[row.ticket_id].append(row)
        elif row.kind == "agent_reply" and row.status not in (
            SendStatus.SENDING,
            SendStatus.FAILED,
        ):
            replies[row.ticket_id].append(row)
    facts = []
    for link in links:
        started = min((_utc(r.created_at) for r in texts[link.ticket_id]), default=None)
        started = started or _utc(link.created_at)
        answers = sorted(
            (r for r in replies[link.ticket_id] if _utc(r.created_at) >= started),
            key=lambda r: _utc(r.created_at),
        )
        info = zendesk.get(link.ticket_id)
        fact = TicketFacts(ticket_id=link.ticket_id, started_at=started)
        if answers:
            fact.first_reply_at = _utc(answers[0].created_at)
            agent = answers[0].agent_id
            fact.first_responder = agent_names.get(agent, f"agent {agent}") if agent else NO_REPLY
        if info is not None:
            fact.status, fact.tags = info.status, info.tags
            fact.resolved_at = info.resolved_at
        facts.append(fact)
    return facts


def _utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; everything the product writes is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build_report(facts: Sequence[TicketFacts], *, resolution_source: str) -> Report:
    return Report(
        tickets=len(facts),
        overall=group_row("all tickets", facts),
        by_agent=grouped(facts, lambda f: [f.first_responder]),
        by_tag=grouped(facts, lambda f: f.tags),
        by_day=volume_by_day(facts),
        resolution_source=resolution_source,
    )


def format_duration(seconds: float | None) -> str:
    """A short human duration: 45s, 3m 10s, 2h 05m, 3d 4h."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"

"""`report`: ticket volume, first response time and resolution time, overall, per agent, per tag
and per day (M21), from the product database plus what only Zendesk knows.

    python starter.py report                       # every SMS ticket
    python starter.py report --since 2026-03-01 --until 2026-04-01 --plot report.png

The database gives the tickets (`TicketLink`), each ticket's first customer text and the agent
replies smsdesk texted (`MessageLog`: when, by which agent). Webhooks stay thin and the product
does not record status changes, so the rest comes from Zendesk: the incremental ticket export
(`GET /api/v2/incremental/tickets/cursor`, a thousand tickets per request) gives status and tags,
and its `metric_sets` sideload gives `solved_at`. Where Zendesk offers no ticket metrics (the
sandbox), a solved or closed ticket's `updated_at` stands in (see `core/reporting.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import httpx

from cli.common import database, zendesk_session
from clients.errors import ApiError, RateLimited
from clients.zendesk import ZendeskClient
from core.reporting import (
    GroupRow,
    Report,
    ZendeskTicketInfo,
    build_report,
    format_duration,
    ticket_facts,
)
from core.settings import Settings
from infra import db

#: The export refuses a start time in the last minute.
EXPORT_MIN_AGE = timedelta(seconds=61)
ATTEMPTS = 5
#: Users per `show_many` request (Zendesk's limit).
SHOW_MANY = 100
T = TypeVar("T")


class ZendeskReader:
    """The few Zendesk reads a report needs, through the product's client and credentials,
    waiting out the account's rate limit."""

    def __init__(self, zendesk: ZendeskClient) -> None:
        self._zendesk = zendesk
        self.had_metrics = False

    async def tickets(self, ids: set[int], since: datetime) -> dict[int, ZendeskTicketInfo]:
        """Status, tags and (where Zendesk has them) `solved_at` of the given tickets."""
        start = min(since, datetime.now(UTC) - EXPORT_MIN_AGE)
        cursor: str | None = None
        found: dict[int, ZendeskTicketInfo] = {}
        while True:
            page = await _patiently(
                partial(
                    self._zendesk.export_tickets,
                    start_time=int(start.timestamp()),
                    cursor=cursor,
                    include="metric_sets",
                )
            )
            metrics = {m["ticket_id"]: m for m in page.metric_sets}
            self.had_metrics |= bool(metrics)
            for ticket in page.tickets:
                if ticket["id"] in ids:
                    solved = (metrics.get(ticket["id"]) or {}).get("solved_at")
                    found[ticket["id"]] = ZendeskTicketInfo.model_validate(
                        {**ticket, "solved_at": solved}
                    )
            if page.end_of_stream or len(found) == len(ids) or not page.after_cursor:
                return found
            cursor = page.after_cursor

    async def agent_names(self, ids: set[int]) -> dict[int, str]:
        names: dict[int, str] = {}
        ordered = sorted(ids)
        for first in range(0, len(ordered), SHOW_MANY):
            batch = ordered[first : first + SHOW_MANY]
            users = await _patiently(partial(self._zendesk.show_users, batch))
            names |= {user.id: f"{user.name} ({user.id})" for user in users}
        return names


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, again after each 429 (as long as Zendesk's Retry-After says), a few times."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RateLimited as exc:
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 10.0)
    raise AssertionError("unreachable")


async def gather(
    settings: Settings, *, since: datetime | None, until: datetime | None, zendesk: bool
) -> Report:
    """The report over the SMS tickets created in [since, until)."""
    engine = database(settings)
    try:
        links = await asyncio.to_thread(db.ticket_links_between, engine, since=since, until=until)
        ids = [link.ticket_id for link in links]
        messages = await asyncio.to_thread(db.messages_on_tickets, engine, ticket_ids=ids)
    finally:
        engine.dispose()
    infos: dict[int, ZendeskTicketInfo] = {}
    names: dict[int, str] = {}
    source = "none"
    if zendesk and links:
        async with httpx.AsyncClient(timeout=60) as http, zendesk_session(settings, http) as client:
            reader = ZendeskReader(client)
            first = min(link.created_at for link in links)
            infos = await reader.tickets(set(ids), _utc(first) - timedelta(minutes=1))
            agents = {m.agent_id for m in messages if m.agent_id is not None}
            names = await reader.agent_names(agents)
            source = "zendesk metrics" if reader.had_metrics else "zendesk updated_at"
    facts = ticket_facts(links, messages, infos, names)
    return build_report(facts, resolution_source=source)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SOURCES = {
    "zendesk metrics": "resolution: Zendesk's ticket metrics (solved_at)",
    "zendesk updated_at": "resolution: updated_at of solved/closed tickets (Zendesk offered no "
    "ticket metrics; an upper bound for tickets changed after solving)",
    "none": "resolution and tags: not asked of Zendesk (--no-zendesk)",
}


def render(report: Report, *, by_day: bool) -> str:
    """The report as a few aligned tables."""
    header = (
        f"{'':28} {'tickets':>7} {'resolved':>8}   {'first response':^17}   {'resolution':^17}\n"
        f"{'':28} {'':>7} {'':>8}   {'median':>8} {'p90':>8}   {'median':>8} {'p90':>8}"
    )

    def row(r: GroupRow, indent: str = "") -> str:
        fr, rs = r.first_response, r.resolution
        return (
            f"{(indent + r.group)[:28]:28} {r.tickets:>7} {r.resolved:>8}   "
            f"{format_duration(fr.median_seconds if fr else None):>8} "
            f"{format_duration(fr.p90_seconds if fr else None):>8}   "
            f"{format_duration(rs.median_seconds if rs else None):>8} "
            f"{format_duration(rs.p90_seconds if rs else None):>8}"
        )

    answered = report.overall.first_response.count if report.overall.first_response else 0
    lines = [
        f"SMS tickets: {report.tickets}, answered {answered}, resolved {report.overall.resolved}",
        SOURCES[report.resolution_source],
        "",
        header,
        row(report.overall),
        "by agent (first to answer)",
        *(row(r, "  ") for r in report.by_agent),
        "by tag",
        *(row(r, "  ") for r in report.by_tag),
    ]
    if by_day:
        lines += ["", "tickets per day"] + [f"  {d.day}  {d.tickets:>5}" for d in report.by_day]
    return "\n".join(lines)


async def report(settings: Settings, args: argparse.Namespace) -> int:
    since = datetime.combine(args.since, datetime.min.time(), UTC) if args.since else None
    until = datetime.combine(args.until, datetime.min.time(), UTC) if args.until else None
    try:
        result = await gather(settings, since=since, until=until, zendesk=not args.no_zendesk)
    except (ApiError, ValueError) as exc:
        print(f"report: Zendesk could not be read ({exc}); --no-zendesk skips it", file=sys.stderr)
        return 1
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(render(result, by_day=args.by_day))
    if args.plot:
        from cli.report_plot import plot  # matplotlib is slow to import: only when asked

        plot(result, args.plot)
        print(f"plot written to {args.plot}")
    return 0

"""The pure computations behind `report` (M21): percentiles, groupings, the join of the
product's records with Zendesk's view of each ticket."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.reporting import (
    NO_REPLY,
    TicketFacts,
    ZendeskTicketInfo,
    build_report,
    duration_stats,
    format_duration,
    percentile,
    ticket_facts,
    volume_by_day,
)
from core.tables import Direction, MessageLog, SendStatus, TicketLink

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_percentile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile([5.0], 90) == 5.0
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0 and percentile([3.0, 1.0, 2.0], 100) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_duration_stats_ignore_unknown_durations() -> None:
    stats = duration_stats([timedelta(minutes=1), None, timedelta(minutes=3)])
    assert stats is not None
    assert (stats.count, stats.median_seconds, stats.p90_seconds) == (2, 120.0, 168.0)
    assert duration_stats([None, None]) is None


def test_format_duration() -> None:
    assert [format_duration(s) for s in (None, 45, 190, 7500, 3 * 86400 + 4 * 3600)] == [
        "-",
        "45s",
        "3m 10s",
        "2h 05m",
        "3d 4h",
    ]


def _fact(
    ticket_id: int,
    *,
    reply_min: int | None,
    resolve_min: int | None,
    agent: str,
    tags: list[str],
    day: int = 0,
) -> TicketFacts:
    started = T0 + timedelta(days=day)
    return TicketFacts(
        ticket_id=ticket_id,
        started_at=started,
        first_reply_at=None if reply_min is None else started + timedelta(minutes=reply_min),
        first_responder=agent,
        resolved_at=None if resolve_min is None else started + timedelta(minutes=resolve_min),
        tags=tags,
    )


def test_report_groups_per_agent_per_tag_and_per_day() -> None:
    facts = [
        _fact(1, reply_min=2, resolve_min=30, agent="Alex", tags=["sms", "vip"]),
        _fact(2, reply_min=4, resolve_min=None, agent="Alex", tags=["sms"]),
        _fact(3, reply_min=10, resolve_min=60, agent="Kim", tags=["sms"], day=2),
        _fact(4, reply_min=None, resolve_min=None, agent=NO_REPLY, tags=["sms", "vip"]),
    ]
    report = build_report(facts, resolution_source="zendesk metrics")
    assert report.tickets == 4 and report.overall.resolved == 2
    assert report.overall.first_response is not None
    assert report.overall.first_response.median_seconds == 4 * 60
    agents = {row.group: row for row in report.by_agent}
    assert [row.group for row in report.by_agent] == ["Alex", "Kim", NO_REPLY]
    assert (
        agents["Alex"].first_response is not None
        and agents["Alex"].first_response.median_seconds == 180
    )
    assert agents["Alex"].resolution is not None and agents["Alex"].resolution.count == 1
    assert agents[NO_REPLY].first_response is None
    tags = {row.group: row for row in report.by_tag}
    assert (tags["sms"].tickets, tags["vip"].tickets) == (4, 2)
    assert tags["vip"].resolution is not None and tags["vip"].resolution.median_seconds == 30 * 60
    assert [(d.day, d.tickets) for d in report.by_day] == [
        (date(2026, 3, 2), 3),
        (date(2026, 3, 3), 0),
        (date(2026, 3, 4), 1),
    ]
    assert volume_by_day([]) == []


def _row(ticket_id: int | None, direction: Direction, minutes: int, **fields: object) -> MessageLog:
    return MessageLog(
        conversation_id="c",
        direction=direction,
        kind=str(fields.pop("kind", "customer")),
        from_number="+15551230001",
        to_number="+15550100001",
        body="x",
        encoding="GSM-7",
        segments=1,
        ticket_id=ticket_id,
        status=fields.pop("status", SendStatus.RECEIVED),
        # SQLite hands datetimes back without a zone: the join must treat them as UTC.
        created_at=(T0 + timedelta(minutes=minutes)).replace(tzinfo=None),
        **fields,
    )


def test_facts_join_the_message_log_with_zendesk() -> None:
    links = [
        TicketLink(
            ticket_id=1, conversation_id="c", sender_number="s", customer_phone="p", created_at=T0
        ),
        TicketLink(
            ticket_id=2, conversation_id="c", sender_number="s", customer_phone="p", created_at=T0
        ),
    ]
    out = Direction.OUTBOUND
    messages = [
        _row(1, Direction.INBOUND, 5),
        _row(1, Direction.INBOUND, 1),  # the first text, though logged second
        _row(1, out, 9, kind="agent_reply", status=SendStatus.FAILED, agent_id=7),  # never sent
        _row(1, out, 12, kind="agent_reply", status=SendStatus.DELIVERED, agent_id=2),
        _row(1, out, 20, kind="agent_reply", status=SendStatus.SENT, agent_id=7),
        _row(1, out, 3, kind="campaign", status=SendStatus.SENT),
        _row(2, Direction.INBOUND, 30),
    ]
    zendesk = {
        1: ZendeskTicketInfo(
            id=1,
            status="closed",
            tags=["sms"],
            created_at=T0,
            updated_at=T0 + timedelta(hours=25),
            solved_at=T0 + timedelta(minutes=61),
        ),
        2: ZendeskTicketInfo(
            id=2,
            status="solved",
            tags=["sms", "vip"],
            created_at=T0,
            updated_at=T0 + timedelta(minutes=90),
        ),
    }
    first, second = ticket_facts(links, messages, zendesk, {2: "Alex Agent (2)"})
    assert first.first_response == timedelta(minutes=11)
    assert first.first_responder == "Alex Agent (2)"
    assert first.resolution == timedelta(minutes=60)  # Zendesk's solved_at, not the close
    assert second.started_at == T0 + timedelta(minutes=30)
    assert (second.first_response, second.first_responder) == (None, NO_REPLY)
    assert second.resolution == timedelta(minutes=60)  # updated_at of a solved ticket
    assert second.tags == ["sms", "vip"]
    [unknown] = ticket_facts(links[:1], [], {}, {})
    assert (unknown.started_at, unknown.resolved_at, unknown.tags) == (T0, None, [])


def test_a_ticket_solved_within_the_second_of_its_text_took_no_time() -> None:
    started = T0 + timedelta(milliseconds=700)
    fact = TicketFacts(ticket_id=1, started_at=started, resolved_at=T0, first_reply_at=T0)
    assert fact.resolution == timedelta(0) and fact.first_response == timedelta(0)

"""The pace of a ticket's updates (core/conversation.py, B5): a burst, then one per pace, and
never more than smsdesk's share of Zendesk's 30 updates per ticket per 10 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.conversation import (
    TICKET_UPDATE_BUDGET,
    TICKET_UPDATE_BURST,
    TICKET_UPDATE_PACE,
    TICKET_UPDATE_WINDOW,
    paced_update_at,
)

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_a_quiet_ticket_is_not_paced() -> None:
    assert paced_update_at([]) is None
    paced = paced_update_at([START] * (TICKET_UPDATE_BURST - 1))
    assert paced is not None and paced <= START


def test_after_a_burst_the_next_update_waits_one_pace() -> None:
    assert paced_update_at([START] * TICKET_UPDATE_BURST) == START + TICKET_UPDATE_PACE
    assert TICKET_UPDATE_PACE == timedelta(seconds=40)


def test_a_ticket_written_as_fast_as_allowed_stays_within_the_budget_of_every_window() -> None:
    """Greedy: each update goes the moment the pace allows, for an hour (the kept list is the
    last 25, as the workflow keeps it)."""
    updates: list[datetime] = []
    kept: list[datetime] = []
    now = START
    while now < START + timedelta(hours=1):
        paced = paced_update_at(kept)
        if paced is not None and paced > now:
            now = paced
        updates.append(now)
        kept = (kept + [now])[-TICKET_UPDATE_BUDGET:]
    # Counted over closed windows, the stricter reading of "per 10 minutes": the budget is
    # reached and never passed.
    busiest = max(
        sum(1 for at in updates if first <= at <= first + TICKET_UPDATE_WINDOW) for first in updates
    )
    assert busiest == TICKET_UPDATE_BUDGET
    # Under steady pressure one update per pace, never a gap of the rest of a window.
    gaps = [later - earlier for earlier, later in zip(updates, updates[1:], strict=False)]
    assert max(gaps) == TICKET_UPDATE_PACE

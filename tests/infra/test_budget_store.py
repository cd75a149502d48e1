"""The shared budgets' slot reservations in the product database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event

from infra import budget_store
from infra.db import make_engine


def test_slots_are_spaced_by_the_interval_and_none_is_taken_past_the_lead(
    any_engine: Engine,
) -> None:
    def take() -> budget_store.Reservation | budget_store.Blocked:
        return budget_store.reserve(any_engine, name="update", interval=10.0, tolerance=0, lead=25)

    first, second, third = take(), take(), take()
    assert isinstance(first, budget_store.Reservation)
    assert isinstance(second, budget_store.Reservation)
    assert second.slot - first.slot == pytest.approx(10.0, abs=0.5)
    assert isinstance(third, budget_store.Reservation)  # 20 s ahead: within the lead
    fourth = take()
    assert isinstance(fourth, budget_store.Blocked)  # 30 s ahead: not taken
    assert fourth.free_at - fourth.now == pytest.approx(30.0, abs=0.5)


def test_a_budget_row_another_process_creates_meanwhile_still_gives_a_slot(
    any_engine: Engine,
) -> None:
    """Two worker processes' first requests on a fresh database: one's take finds no row, the
    other creates it, and the first then reads a free budget. It must take a slot, not answer
    "blocked" (which failed a budget test on CI, 2 runs in 3)."""
    if any_engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the take holds the write lock until commit: nobody gets between")
    other_process = make_engine(any_engine.url.render_as_string(hide_password=False))
    created = False

    def create_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal created
        if not created and statement.lstrip().upper().startswith("UPDATE ZENDESKBUDGET"):
            created = True
            budget_store._create(other_process, "update")

    event.listen(any_engine, "after_cursor_execute", create_meanwhile)
    try:
        taken = budget_store.reserve(any_engine, name="update", interval=1.0, tolerance=0, lead=60)
    finally:
        event.remove(any_engine, "after_cursor_execute", create_meanwhile)
        other_process.dispose()
    assert created
    assert isinstance(taken, budget_store.Reservation)
    assert taken.slot - taken.now < 1.0

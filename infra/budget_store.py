"""The shared Zendesk budgets in the product database: atomic slot reservations and pauses.

Each call is one statement, atomic on both engines without an explicit lock: PostgreSQL
locks the row for the UPDATE and re-checks its WHERE against the committed row, SQLite runs
one writer at a time. Time is the database's clock (epoch seconds), so every process and host
measures slots and pauses on the same clock; callers get "now" back with each answer and
sleep the difference.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import Engine, Float, bindparam, cast, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.tables import ZendeskBudget


class Reservation(NamedTuple):
    """A slot (when the request may go) and the database's clock when it was taken."""

    slot: float
    now: float


class Blocked(NamedTuple):
    """No slot within reach: the first free moment and the database's clock."""

    free_at: float
    now: float


#: Takes per `reserve`: the first may miss a row another process is creating.
_TRIES = 3


def reserve(
    engine: Engine, *, name: str, interval: float, tolerance: float, lead: float
) -> Reservation | Blocked:
    """Take the budget's next slot if it falls within `lead` seconds from now; otherwise take
    nothing and say when the budget is free.

    The slots follow the generic cell rate algorithm: `next_at` is the theoretical time of the
    next request, which may go up to `tolerance` seconds early (a burst after a quiet spell);
    each request moves it `interval` on.
    """
    statements = _statements(engine.dialect.name)
    values = {"budget": name, "interval": interval, "tolerance": tolerance, "lead": lead}
    blocked: Blocked | None = None
    for _ in range(_TRIES):
        with engine.begin() as connection:
            taken = connection.execute(statements.take, values).first()
            if taken is not None:
                # RETURNING shows the new `next_at`; the slot taken follows from it.
                new_next, paused_until, clock = taken
                slot = max(new_next - interval - tolerance, paused_until, clock)
                return Reservation(slot=slot, now=clock)
            row = connection.execute(statements.free_at, values).first()
        if row is None:
            _create(engine, name)
            continue
        blocked = Blocked(free_at=row[0], now=row[1])
        if blocked.free_at > blocked.now + lead:
            return blocked
        # In reach after all: on PostgreSQL each statement sees what was committed when it
        # began, so another process created the row (or time brought the slot within `lead`)
        # between the two. Answering "blocked" would send a request back for nothing.
    if blocked is None:
        raise RuntimeError(f"the {name} budget has no row in zendeskbudget")
    return blocked


def pause(engine: Engine, *, name: str, seconds: float) -> None:
    """Hand out no slot of this budget for `seconds` from now (a pause only ever extends)."""
    _create(engine, name)
    with engine.begin() as connection:
        connection.execute(
            _statements(engine.dialect.name).pause, {"budget": name, "seconds": seconds}
        )


def paused_until(engine: Engine, *, name: str) -> tuple[float, float]:
    """Until when the budget is paused, and the database's clock now."""
    with engine.begin() as connection:
        row = connection.execute(
            _statements(engine.dialect.name).paused_until, {"budget": name}
        ).first()
    return (row[0], row[1]) if row is not None else (0.0, 0.0)


class _Statements(NamedTuple):
    take: Any
    free_at: Any
    pause: Any
    paused_until: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    """The budget's statements, built once per dialect with bound parameters: every Zendesk
    request takes a slot, and building the expression anew each time cost ten times what the
    database took to run it (1.4 ms against 0.15 ms a reservation on SQLite)."""
    now, greatest = _now(dialect), _greatest(dialect)
    name = col(ZendeskBudget.name) == bindparam("budget")
    next_at, paused = col(ZendeskBudget.next_at), col(ZendeskBudget.paused_until)
    start = greatest(next_at - bindparam("tolerance"), paused, now)
    return _Statements(
        take=update(ZendeskBudget)
        .where(name, start <= now + bindparam("lead"))
        .values(next_at=greatest(next_at, start) + bindparam("interval"))
        .returning(next_at, paused, now),
        free_at=select(greatest(next_at - bindparam("tolerance"), paused), now).where(name),
        pause=update(ZendeskBudget)
        .where(name)
        .values(paused_until=greatest(paused, now + bindparam("seconds"))),
        paused_until=select(paused, now).where(name),
    )


def _create(engine: Engine, name: str) -> None:
    with Session(engine) as session:
        if session.get(ZendeskBudget, name) is not None:
            return
        session.add(ZendeskBudget(name=name))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process made it first


def _now(dialect: str) -> Any:
    """The database's clock in epoch seconds: SQLite's `now` holds for one statement;
    PostgreSQL's `clock_timestamp()` is read after a row lock was waited for, not before."""
    if dialect == "sqlite":
        return cast((func.julianday("now") - literal(2440587.5)) * literal(86400.0), Float)
    return cast(func.extract("epoch", func.clock_timestamp()), Float)


def _greatest(dialect: str) -> Any:
    """SQL's largest-of-several: GREATEST, or SQLite's many-argument scalar max()."""
    return func.max if dialect == "sqlite" else func.greatest

"""The intake journal's queries: add, claim, read, forget, and the backlog operators watch.

Synchronous like `infra.db`; async callers run them in a thread. In a reply storm every text
is added here and then claimed, read and forgotten by the forwarder, so the statements on that
path are built once per dialect and each is one atomic statement: the ORM's unit of work for
them took a third of the webhook process's time in a storm (py-spy, `bench/run.py --mode
storm`).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from sqlalchemy import Connection, Engine, bindparam, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.tables import IntakeClaim, IntakeEvent, utcnow

_EVENTS = IntakeEvent.__table__  # type: ignore[attr-defined]
_CLAIMS = IntakeClaim.__table__  # type: ignore[attr-defined]


class _Statements(NamedTuple):
    add: Any
    claim: Any
    release: Any
    forget: Any
    forget_copy: Any
    has_waiting: Any
    waiting_events: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    new_claim = insert(_CLAIMS)
    return _Statements(
        # A redelivered webhook's event is there already (unique `dedupe_key`): no row.
        add=insert(_EVENTS)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_EVENTS.c.id),
        # Insert the lease, or take it over when it is ours or has run out; else no row.
        claim=new_claim.on_conflict_do_update(
            index_elements=["workflow_id"],
            set_={"owner": new_claim.excluded.owner, "expires_at": new_claim.excluded.expires_at},
            where=(_CLAIMS.c.owner == new_claim.excluded.owner)
            | (_CLAIMS.c.expires_at < bindparam("now", type_=_CLAIMS.c.expires_at.type)),
        ).returning(_CLAIMS.c.workflow_id),
        release=delete(_CLAIMS).where(
            _CLAIMS.c.workflow_id == bindparam("workflow_id"),
            _CLAIMS.c.owner == bindparam("owner"),
        ),
        forget=delete(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")),
        forget_copy=delete(_EVENTS).where(_EVENTS.c.dedupe_key == bindparam("dedupe_key")),
        has_waiting=select(_EVENTS.c.id)
        .where(_EVENTS.c.workflow_id == bindparam("workflow_id"))
        .limit(1),
        waiting_events=select(IntakeEvent)
        .where(col(IntakeEvent.workflow_id) == bindparam("workflow_id"))
        .order_by(col(IntakeEvent.id))
        .limit(bindparam("limit")),
    )


#: One writer at a time per SQLite file in this process. SQLite takes one writer anyway, but a
#: writer that finds the file locked sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms a
#: try): in a storm the door's threads and the forwarder's, writing at once, made the webhooks'
#: slowest answers. A lock here wakes the next writer as soon as the last one commits.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction, taken in turn with this process's other journal writers on SQLite
    (PostgreSQL locks rows, not the database: no turns there)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with _SQLITE_WRITERS_GUARD:
        writers = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with writers, engine.begin() as connection:
        yield connection


class NewEvent(TypedDict):
    """An `IntakeEvent` row as a webhook writes it: plain values, because building the SQLModel
    instance took as long as the insert (a tenth of the webhooks' event loop in a storm)."""

    workflow_id: str
    action: str
    dedupe_key: str
    sender_number: str | None
    customer_phone: str | None
    payload: str


def add(engine: Engine, *, event: NewEvent) -> bool:
    """Journal one event; False when the same event is journaled already (a redelivery)."""
    row = {**event, "received_at": utcnow(), "attempts": 0, "last_error": None}
    # RETURNING says whether a row was written (rowcount is not reliable for upserts).
    with _writing(engine) as connection:
        added = connection.execute(_statements(engine.dialect.name).add, row).first()
        return added is not None


def has_waiting(engine: Engine, *, workflow_id: str) -> bool:
    """Whether events for this workflow still wait: a newer one must queue behind them."""
    with engine.connect() as connection:
        found = connection.execute(
            _statements(engine.dialect.name).has_waiting, {"workflow_id": workflow_id}
        ).first()
        return found is not None


def waiting_workflows(engine: Engine, *, limit: int) -> list[str]:
    """Workflows with journaled events, the one waiting longest first."""
    with Session(engine) as session:
        oldest = func.min(IntakeEvent.id)
        rows = session.exec(
            select(IntakeEvent.workflow_id)
            .group_by(col(IntakeEvent.workflow_id))
            .order_by(oldest)
            .limit(limit)
        ).all()
        return list(rows)


def claim(engine: Engine, *, workflow_id: str, owner: str, lease: timedelta) -> bool:
    """Take (or renew) the right to forward one workflow's events; False if another
    forwarder holds an unexpired lease on it."""
    now = utcnow()
    values = {"workflow_id": workflow_id, "owner": owner, "expires_at": now + lease, "now": now}
    with _writing(engine) as connection:
        taken = connection.execute(_statements(engine.dialect.name).claim, values).first()
        return taken is not None


def release(engine: Engine, *, workflow_id: str, owner: str) -> None:
    with _writing(engine) as connection:
        connection.execute(
            _statements(engine.dialect.name).release, {"workflow_id": workflow_id, "owner": owner}
        )


def waiting_events(engine: Engine, *, workflow_id: str, limit: int) -> list[IntakeEvent]:
    """One workflow's journaled events in arrival order."""
    with Session(engine) as session:
        statement = _statements(engine.dialect.name).waiting_events
        return list(session.exec(statement, params={"workflow_id": workflow_id, "limit": limit}))


def forget(engine: Engine, *, event_id: int) -> None:
    """Delete an event Temporal has taken."""
    with _writing(engine) as connection:
        connection.execute(_statements(engine.dialect.name).forget, {"event_id": event_id})


def forget_copy(engine: Engine, *, dedupe_key: str) -> None:
    """Delete an event journaled while Temporal was slow, once Temporal has taken it after all."""
    with _writing(engine) as connection:
        connection.execute(_statements(engine.dialect.name).forget_copy, {"dedupe_key": dedupe_key})


def note_failure(engine: Engine, *, event_id: int, error: str) -> None:
    with _writing(engine) as connection:
        connection.execute(
            update(IntakeEvent)
            .where(col(IntakeEvent.id) == event_id)
            .values(attempts=IntakeEvent.attempts + 1, last_error=error[:500])
        )


def journaled_dedupe_keys(engine: Engine, *, keys: list[str]) -> set[str]:
    """Which of these dedupe keys wait in the journal."""
    if not keys:
        return set()
    with Session(engine) as session:
        rows = session.exec(
            select(IntakeEvent.dedupe_key).where(col(IntakeEvent.dedupe_key).in_(keys))
        ).all()
        return set(rows)


@dataclass(frozen=True)
class Backlog:
    """What operators watch: how many events wait and since when."""

    events: int
    workflows: int
    oldest_received_at: datetime | None

    def oldest_age_seconds(self, now: datetime | None = None) -> float | None:
        if self.oldest_received_at is None:
            return None
        return ((now or utcnow()) - self.oldest_received_at).total_seconds()


def backlog(engine: Engine) -> Backlog:
    with Session(engine) as session:
        count, workflows, oldest = session.exec(
            select(
                func.count(col(IntakeEvent.id)),
                func.count(func.distinct(IntakeEvent.workflow_id)),
                func.min(IntakeEvent.received_at),
            )
        ).one()
        if isinstance(oldest, str):  # SQLite's MIN() answers the stored text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        return Backlog(events=count, workflows=workflows, oldest_received_at=oldest)

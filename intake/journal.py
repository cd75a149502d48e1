"""The intake journal's queries: add, claim, read, forget, and the backlog operators watch.

Synchronous like `infra.db`; async callers run them in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Engine, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.tables import IntakeClaim, IntakeEvent, utcnow
from infra import db


def add(engine: Engine, *, event: IntakeEvent) -> bool:
    """Journal one event; False when the same event is journaled already (a redelivery)."""
    return db.insert_once(engine, row=event)


def has_waiting(engine: Engine, *, workflow_id: str) -> bool:
    """Whether events for this workflow still wait: a newer one must queue behind them."""
    with Session(engine) as session:
        found = session.exec(
            select(IntakeEvent.id).where(IntakeEvent.workflow_id == workflow_id).limit(1)
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
    with Session(engine) as session:
        session.add(IntakeClaim(workflow_id=workflow_id, owner=owner, expires_at=now + lease))
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        taken: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(IntakeClaim)
            .where(
                col(IntakeClaim.workflow_id) == workflow_id,
                (col(IntakeClaim.owner) == owner) | (col(IntakeClaim.expires_at) < now),
            )
            .values(owner=owner, expires_at=now + lease)
        )
        session.commit()
        return bool(taken.rowcount == 1)


def release(engine: Engine, *, workflow_id: str, owner: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            delete(IntakeClaim).where(
                col(IntakeClaim.workflow_id) == workflow_id, col(IntakeClaim.owner) == owner
            )
        )


def waiting_events(engine: Engine, *, workflow_id: str, limit: int) -> list[IntakeEvent]:
    """One workflow's journaled events in arrival order."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(IntakeEvent)
                .where(IntakeEvent.workflow_id == workflow_id)
                .order_by(col(IntakeEvent.id))
                .limit(limit)
            ).all()
        )


def forget(engine: Engine, *, event_id: int) -> None:
    """Delete an event Temporal has taken."""
    with engine.begin() as connection:
        connection.execute(delete(IntakeEvent).where(col(IntakeEvent.id) == event_id))


def note_failure(engine: Engine, *, event_id: int, error: str) -> None:
    with engine.begin() as connection:
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

"""Where each side of the reconciler stopped reading, kept in the product database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from core.tables import ReconcileCursor, utcnow

ZENDESK_TICKET_EVENTS = "zendesk-ticket-events"
SMS_MESSAGES = "sms-messages"


def read(engine: Engine, source: str) -> datetime | None:
    with Session(engine) as session:
        row = session.get(ReconcileCursor, source)
        if row is None:
            return None
        at = row.position
        return at if at.tzinfo else at.replace(tzinfo=UTC)


def advance(engine: Engine, source: str, position: datetime) -> None:
    """Move the cursor forward; never back (a manual `--since` run re-reads, harmlessly)."""
    with Session(engine) as session:
        row = session.get(ReconcileCursor, source)
        if row is None:
            row = ReconcileCursor(source=source, position=position)
        elif position > (row.position if row.position.tzinfo else row.position.replace(tzinfo=UTC)):
            row.position, row.updated_at = position, utcnow()
        session.add(row)
        session.commit()

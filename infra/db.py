"""Engine creation and the typed, keyword-only queries the product runs.

sqlmodel is synchronous; async callers run these through `asyncio.to_thread` so the event loop
never blocks on the database.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, String, bindparam, event, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, create_engine, select

from core.tables import (
    Attribution,
    Consent,
    Direction,
    MessageLog,
    SendStatus,
    Subscriber,
    TicketLink,
    ZendeskRequester,
    utcnow,
)

#: Message-log kinds of texts the brand sent from outside smsdesk (campaigns, flows, tools).
OUTSIDE_KINDS = ("campaign", "flow", "other")


def make_engine(url: str) -> Engine:
    """An engine for SQLite (file made on demand, WAL) or PostgreSQL. It creates no tables:
    the schema is Alembic's (`python starter.py migrate`, see `migrations/`)."""
    connect_args: dict[str, Any] = {}
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Activities use the engine from worker threads.
        connect_args = {"check_same_thread": False, "timeout": 30}
    # A server's connections can drop while pooled; a SQLite file's cannot, and the ping
    # before every checkout cost a query each time.
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the webhook server read while the worker writes.
    cursor = dbapi_connection.cursor()
    try:
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


#: How long a new connection keeps trying to switch a fresh file to WAL.
WAL_SWITCH_SECONDS = 10.0


def _use_wal(cursor: Any) -> None:
    """WAL is kept in the file, so it is switched on once. The switch needs the file to
    itself, and SQLite answers "locked" at once, without its busy wait, to a connection that
    asks while another process is switching: two fresh workers did (tests/clients)."""
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            [mode] = cursor.execute("PRAGMA journal_mode").fetchone()
            if mode.lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- subscribers ---------------------------------------------------------------------------


def get_consent(engine: Engine, *, phone: str) -> Consent | None:
    with engine.connect() as connection:
        return connection.execute(_CONSENT, {"phone": phone}).scalar()


#: Read for every text: built once (an ORM session per read cost three times as much).
_CONSENT = select(col(Subscriber.consent)).where(col(Subscriber.phone) == bindparam("phone"))


def set_consent(engine: Engine, *, phone: str, consent: Consent, keyword: str | None) -> None:
    with Session(engine) as session:
        row = session.get(Subscriber, phone) or Subscriber(phone=phone, consent=consent)
        row.consent, row.keyword, row.updated_at = consent, keyword, utcnow()
        session.add(row)
        session.commit()


# --- message log ---------------------------------------------------------------------------


def insert_once(engine: Engine, *, row: SQLModel) -> bool:
    """Insert a row whose natural key is unique (a provider sid, an idempotency key, a ticket
    id); False when it is there already, which makes a retried write a no-op."""
    with Session(engine) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            return False
    return True


def find_by_key(engine: Engine, *, idempotency_key: str) -> MessageLog | None:
    with Session(engine) as session:
        return session.exec(
            select(MessageLog).where(MessageLog.idempotency_key == idempotency_key)
        ).first()


def known_sids(engine: Engine, *, provider_sids: Sequence[str]) -> set[str]:
    """Which of these provider sids the message log already holds."""
    with Session(engine) as session:
        rows = session.exec(
            select(MessageLog.provider_sid).where(col(MessageLog.provider_sid).in_(provider_sids))
        ).all()
        return {sid for sid in rows if sid is not None}


def begin_send(engine: Engine, *, message: MessageLog) -> tuple[MessageLog, bool]:
    """Write the journal row of an outbound text before the provider is called.

    Returns the row and whether it is new; an existing row (same idempotency key) tells a
    retried activity what the earlier attempt did.
    """
    with Session(engine) as session:
        session.add(message)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.exec(
                select(MessageLog).where(MessageLog.idempotency_key == message.idempotency_key)
            ).one()
            return existing, False
        session.refresh(message)
        return message, True


def finish_send(
    engine: Engine,
    *,
    message_id: int,
    status: SendStatus,
    provider_sid: str | None = None,
    error_code: int | None = None,
) -> None:
    with Session(engine) as session:
        row = session.get(MessageLog, message_id)
        if row is None:
            raise LookupError(f"message log row {message_id} vanished")
        # A status callback can land before the send's own answer is written: its final
        # status (delivered, undelivered, failed) outranks the plain "sent" recorded here.
        if not (status is SendStatus.SENT and row.status in _FINAL_BY_CALLBACK):
            row.status = status
        row.updated_at = utcnow()
        if provider_sid is not None:
            row.provider_sid = provider_sid
        if error_code is not None:
            row.error_code = error_code
        session.add(row)
        session.commit()


_FINAL_BY_CALLBACK = (SendStatus.DELIVERED, SendStatus.UNDELIVERED, SendStatus.FAILED)


def sent_text(engine: Engine, *, text_id: int | None, provider_sid: str) -> MessageLog | None:
    """The outbound text a status callback is about."""
    with Session(engine) as session:
        return _sent_text(session, text_id=text_id, provider_sid=provider_sid)


def set_delivery_status(
    engine: Engine,
    *,
    text_id: int | None,
    provider_sid: str,
    status: SendStatus,
    error_code: int | None,
) -> MessageLog | None:
    """Record a status callback on the text's journal row; returns the row."""
    with Session(engine) as session:
        row = _sent_text(session, text_id=text_id, provider_sid=provider_sid)
        if row is None:
            return None
        row.status, row.error_code, row.updated_at = status, error_code, utcnow()
        row.provider_sid = provider_sid
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def _sent_text(session: Session, *, text_id: int | None, provider_sid: str) -> MessageLog | None:
    # By the journal row id the callback URL carries, known before the provider's answer (and
    # so the sid) is written; by sid for texts sent before callback URLs carried the id.
    if text_id is None:
        return session.exec(
            select(MessageLog).where(MessageLog.provider_sid == provider_sid)
        ).first()
    row = session.get(MessageLog, text_id)
    if row is None or row.direction != Direction.OUTBOUND:
        return None
    if row.provider_sid not in (None, provider_sid):
        return None  # the id is another text's: a garbled callback URL
    return row


def attach_ticket(engine: Engine, *, provider_sids: Sequence[str], ticket_id: int) -> None:
    """Link inbound texts to the ticket they ended up on (for reporting)."""
    _set_ticket(engine, col(MessageLog.provider_sid).in_(list(provider_sids)), ticket_id)


def _set_ticket(engine: Engine, rows: ColumnElement[bool], ticket_id: int) -> None:
    # One UPDATE: this runs for every comment, and loading the rows first cost twice as much.
    with engine.begin() as connection:
        connection.execute(update(MessageLog).where(rows).values(ticket_id=ticket_id))


def log_inbound(
    engine: Engine, *, rows: Sequence[MessageLog], conversation_id: str, sent_kind: str
) -> datetime | None:
    """Log a burst's texts (once per provider sid: a retried triage adds nothing) and answer
    when smsdesk last sent `sent_kind` in the conversation; one transaction for every text.

    Statements built once, rows as plain values: this runs for every text, and the ORM's
    unit of work cost more than the database did (about 2 ms against 0.5 ms a text).
    """
    statements = _inbound_statements(engine.dialect.name)
    values = [row.model_dump(exclude={"id"}) for row in rows]
    with engine.begin() as connection:
        if values:
            connection.execute(statements.insert, values)
        last: datetime | None = connection.execute(
            statements.last_sent,
            {"conversation_id": conversation_id, "kind": sent_kind},
        ).scalar()
    return last


class _InboundStatements(NamedTuple):
    insert: Any
    last_sent: Any


@functools.cache
def _inbound_statements(dialect: str) -> _InboundStatements:
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return _InboundStatements(
        insert=insert(MessageLog).on_conflict_do_nothing(index_elements=["provider_sid"]),
        last_sent=select(col(MessageLog.created_at))
        .where(
            col(MessageLog.conversation_id) == bindparam("conversation_id", type_=String),
            col(MessageLog.direction) == Direction.OUTBOUND,
            col(MessageLog.kind) == bindparam("kind", type_=String),
            col(MessageLog.status) != SendStatus.FAILED,
        )
        .order_by(col(MessageLog.created_at).desc())
        .limit(1),
    )


def messages_for(engine: Engine, *, conversation_id: str) -> list[MessageLog]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(MessageLog)
                .where(MessageLog.conversation_id == conversation_id)
                .order_by(col(MessageLog.created_at), col(MessageLog.id))
            ).all()
        )


def unticketed_outbound(
    engine: Engine, *, conversation_id: str, until: datetime
) -> list[MessageLog]:
    """Texts the brand sent before `until` that no ticket has shown yet (M11 context)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(MessageLog)
                .where(
                    MessageLog.conversation_id == conversation_id,
                    MessageLog.direction == Direction.OUTBOUND,
                    col(MessageLog.kind).in_(OUTSIDE_KINDS),
                    col(MessageLog.ticket_id).is_(None),
                    MessageLog.created_at <= until,
                )
                .order_by(col(MessageLog.created_at), col(MessageLog.id))
            ).all()
        )


def attach_ticket_by_ids(engine: Engine, *, message_ids: Sequence[int], ticket_id: int) -> None:
    _set_ticket(engine, col(MessageLog.id).in_(list(message_ids)), ticket_id)


def attributions_for(engine: Engine, *, conversation_id: str) -> list[Attribution]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Attribution).where(Attribution.conversation_id == conversation_id)
            ).all()
        )


# --- ticket links --------------------------------------------------------------------------


def ticket_link(engine: Engine, *, ticket_id: int) -> TicketLink | None:
    with Session(engine) as session:
        return session.get(TicketLink, ticket_id)


def latest_ticket(engine: Engine, *, conversation_id: str) -> TicketLink | None:
    with Session(engine) as session:
        return session.exec(
            select(TicketLink)
            .where(TicketLink.conversation_id == conversation_id)
            .order_by(col(TicketLink.created_at).desc(), col(TicketLink.ticket_id).desc())
        ).first()


def remember_requester(
    engine: Engine, *, user_id: int, email: str | None, phone: str | None, external_id: str | None
) -> None:
    """Keep the requester's contact as Zendesk just answered it (an upsert)."""
    with Session(engine) as session:
        row = session.get(ZendeskRequester, user_id) or ZendeskRequester(user_id=user_id)
        row.email, row.phone, row.external_id = email, phone, external_id
        row.seen_at = utcnow()
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another process inserted it first: its answer is as fresh
            session.rollback()


def requester(engine: Engine, *, user_id: int) -> ZendeskRequester | None:
    with Session(engine) as session:
        return session.get(ZendeskRequester, user_id)


# --- reporting (M21) -----------------------------------------------------------------------

#: Ids per `IN (...)` list: well under every engine's limit on bound parameters.
_CHUNK = 500


def ticket_links_between(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> list[TicketLink]:
    """The SMS tickets created in [since, until), oldest first."""
    query = select(TicketLink)
    if since is not None:
        query = query.where(TicketLink.created_at >= since)
    if until is not None:
        query = query.where(TicketLink.created_at < until)
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(TicketLink.created_at))).all())


def messages_on_tickets(engine: Engine, *, ticket_ids: Sequence[int]) -> list[MessageLog]:
    """Every logged text, in both directions, that belongs to one of these tickets."""
    ids = list(ticket_ids)
    rows: list[MessageLog] = []
    with Session(engine) as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows += session.exec(select(MessageLog).where(col(MessageLog.ticket_id).in_(chunk)))
    return rows


def ticket_links(engine: Engine, *, ticket_ids: Sequence[int]) -> dict[int, TicketLink]:
    """The SMS tickets among these ids, by id (tickets of other channels have no link)."""
    ids = list(ticket_ids)
    found: dict[int, TicketLink] = {}
    with Session(engine) as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for link in session.exec(
                select(TicketLink).where(col(TicketLink.ticket_id).in_(chunk))
            ):
                found[link.ticket_id] = link
    return found

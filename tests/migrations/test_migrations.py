"""The schema is Alembic's: head matches the models, a database holding rows in the first
schema (or made by `create_all` before migrations existed) upgrades with nothing lost, and a
process meeting a database behind head stops and names the command that fixes it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

import migrations
from core.tables import Attribution, Consent, MessageLog, TicketLink
from devstack.subprocesses import worker_args
from infra import db
from intake import journal
from tests.conftest import POSTGRES_URL

FIRST_ROWS = {
    "subscriber": "INSERT INTO subscriber (phone, consent, keyword, updated_at) "
    "VALUES ('+15551230001', 'OPTED_OUT', 'STOP', :at)",
    "messagelog": "INSERT INTO messagelog (conversation_id, direction, kind, from_number, "
    "to_number, body, encoding, segments, ticket_id, provider_sid, status, created_at, "
    "updated_at) VALUES ('c1', 'INBOUND', 'customer', '+15551230001', '+15550100001', "
    "'Where is my order?', 'GSM-7', 1, 1001, 'SMold', 'RECEIVED', :at, :at)",
    "ticketlink": "INSERT INTO ticketlink (ticket_id, conversation_id, sender_number, "
    "customer_phone, created_at) VALUES (1001, 'c1', '+15550100001', '+15551230001', :at)",
    "attribution": "INSERT INTO attribution (conversation_id, message_sid, "
    "outbound_message_id, origin, attributed_at) VALUES ('c1', 'SMold', 'm1', 'campaign', :at)",
}


def test_head_matches_the_models(any_engine: Engine) -> None:
    assert migrations.current_revision(any_engine) == migrations.head_revision()
    assert migrations.recorded_revision(any_engine) == migrations.HEAD
    with any_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_written_out_head_is_alembics() -> None:
    # A new revision file needs HEAD moved to it: `require_head` reads HEAD, not the files.
    assert migrations.HEAD == migrations.head_revision()


def test_the_recorded_revision_is_alembics(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/revisions.db")
    try:
        assert migrations.recorded_revision(engine) is None  # not set up
        assert migrations.current_revision(engine) is None
        migrations.upgrade(str(engine.url), migrations.FIRST_REVISION)
        assert migrations.recorded_revision(engine) == migrations.FIRST_REVISION
        assert migrations.current_revision(engine) == migrations.FIRST_REVISION
    finally:
        engine.dispose()


@pytest.mark.parametrize("made_by", ["first migration", "create_all before migrations"])
def test_rows_in_the_first_schema_survive_the_upgrade(made_by: str, database_url: str) -> None:
    assert migrations.upgrade(database_url, migrations.FIRST_REVISION) == "0001"
    engine = create_engine(database_url)
    if made_by == "create_all before migrations":
        # The first schema's tables as `create_all` made them: no alembic_version beside them.
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as connection:
        for insert in FIRST_ROWS.values():
            connection.execute(text(insert), {"at": datetime(2026, 11, 1, tzinfo=UTC)})
    engine.dispose()

    assert migrations.upgrade(database_url) == migrations.head_revision()
    engine = db.make_engine(database_url)
    try:
        assert db.get_consent(engine, phone="+15551230001") is Consent.OPTED_OUT
        [row] = db.messages_for(engine, conversation_id="c1")
        assert isinstance(row, MessageLog) and row.body == "Where is my order?"
        link = db.ticket_link(engine, ticket_id=1001)
        assert isinstance(link, TicketLink) and link.customer_phone == "+15551230001"
        [attribution] = db.attributions_for(engine, conversation_id="c1")
        assert isinstance(attribution, Attribution)
        assert journal.backlog(engine).events == 0  # the new tables work at once
        migrations.require_head(engine)
    finally:
        engine.dispose()


def test_a_process_stops_naming_the_command_when_the_schema_is_behind(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/behind.db"
    migrations.upgrade(url, migrations.FIRST_REVISION)
    engine = db.make_engine(url)
    with pytest.raises(migrations.SchemaNotAtHead, match="python starter.py migrate"):
        migrations.require_head(engine)
    engine.dispose()
    # The worker as deployed: it exits at once, before it even looks for Temporal.
    done = subprocess.run(
        worker_args(),
        env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "TEMPORAL_ADDRESS": "127.0.0.1:1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "run `python starter.py migrate` first" in done.stderr + done.stdout


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or PostgreSQL's public schema emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/first.db"
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL is not set")
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES_URL

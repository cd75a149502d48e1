"""The webhook server: `uvicorn webhooks.app:app`.

Receivers are thin: check the signature, parse, hand the event to its workflow through the
intake door (Temporal, or the intake journal when Temporal is slow), and answer 2xx only once
the event is durable. They never call Zendesk or send texts. The process also runs the
forwarder that hands journaled events to Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from temporalio.client import Client

import migrations
from core.db import make_engine
from core.process import configure_logging
from core.settings import Settings, get_settings
from core.temporal import connect
from intake import journal
from intake.door import Door
from intake.forwarder import Forwarder
from webhooks import codec, outbound, sms, zendesk
from webhooks.context import Receiver


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """Build the app; tests and the dev stack pass their own client and engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or get_settings()
        if settings is None:  # deployed (`uvicorn webhooks.app:app`), not inside a test or stack
            configure_logging(config.log_level)
        database = engine
        if database is None:
            database = make_engine(config.database_url)
            migrations.require_head(database)
        client = temporal or await connect(config)
        door = Door(client, database, config)
        app.state.receiver = Receiver(settings=config, temporal=client, engine=database, door=door)
        # Every webhook replica forwards the journal; claims keep them from doubling up.
        forwarder = Forwarder(door)
        forwarding = asyncio.create_task(forwarder.run(), name="intake-forwarder")
        logging.getLogger(__name__).info("webhooks ready, signalling %s", config.temporal_address)
        try:
            yield
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding

    app = FastAPI(title="smsdesk webhooks", lifespan=lifespan)
    app.include_router(sms.router)
    app.include_router(zendesk.router)
    app.include_router(outbound.router)
    app.include_router(codec.router)
    # The Temporal UI calls the codec endpoint from the operator's browser.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=(settings or get_settings()).codec_cors_origins,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/intake")
    async def intake_backlog(request: Request) -> dict[str, Any]:
        """What waits in the intake journal for Temporal (B9): operators watch this."""
        context: Receiver = request.app.state.receiver
        waiting = await asyncio.to_thread(journal.backlog, context.engine)
        return {
            "events": waiting.events,
            "workflows": waiting.workflows,
            "oldest_age_seconds": waiting.oldest_age_seconds(),
            "temporal_suspect": context.door.temporal_suspect(),
        }

    return app


app = create_app()

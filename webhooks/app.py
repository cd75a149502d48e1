"""The webhook server's app; deployed as `uvicorn webapp:app` (which adds the media source).

Receivers are thin: check the signature, parse, hand the event to its workflow through the
intake door (Temporal, or the intake journal when Temporal is slow), and answer 2xx only once
the event is durable. They never call Zendesk or send texts. The process also runs the
forwarder that hands journaled events to Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

import migrations
from core.process import configure_logging, freeze_start_up_objects, watch_garbage_collections
from core.settings import Settings, get_settings
from core.telemetry import (
    INTAKE_BACKLOG,
    INTAKE_OLDEST,
    ZENDESK_BUDGET,
    ZENDESK_UPDATE_BUDGET,
)
from infra.db import make_engine
from infra.temporal import connect
from intake import journal
from intake.door import Door
from intake.forwarder import Forwarder
from webhooks import codec, outbound, sms, zendesk
from webhooks import media as media_route
from webhooks.context import Receiver
from webhooks.media import MediaSource

READY_TIMEOUT_SECONDS = 3.0


#: Builds what serves agents' pictures (B11) for the process's settings; the entry point
#: (`webapp.py`) provides it, since receivers never talk to Zendesk themselves.
MediaFactory = Callable[[Settings, Engine], AbstractAsyncContextManager[MediaSource]]


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    engine: Engine | None = None,
    media: MediaFactory | None = None,
) -> FastAPI:
    """Build the app; tests and the dev stack pass their own client and engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or get_settings()
        exits = contextlib.AsyncExitStack()
        # Deployed (`uvicorn webapp:app`), the process is the app's alone; a test's or a
        # stack's app shares its process with the test runner.
        deployed = settings is None
        if deployed:
            configure_logging(config.log_level)
            watch_garbage_collections()
        database = engine
        if database is None:
            database = make_engine(config.database_url)
            migrations.require_head(database)
        client = temporal or await connect(config)
        door = Door(client, database, config)
        media_source = await exits.enter_async_context(media(config, database)) if media else None
        app.state.media = media_source
        watch_intake(database)
        ZENDESK_BUDGET.set(config.zendesk_requests_per_minute)
        ZENDESK_UPDATE_BUDGET.set(config.zendesk_update_requests_per_minute)
        app.state.receiver = Receiver(settings=config, temporal=client, engine=database, door=door)
        # Every webhook replica forwards the journal; claims keep them from doubling up.
        forwarder = Forwarder(door)
        forwarding = asyncio.create_task(forwarder.run(), name="intake-forwarder")
        logging.getLogger(__name__).info("webhooks ready, signalling %s", config.temporal_address)
        if deployed:
            freeze_start_up_objects()
        try:
            yield
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding
            await door.close()
            await exits.aclose()

    app = FastAPI(title="smsdesk webhooks", lifespan=lifespan)
    app.state.media = None
    app.include_router(sms.router)
    app.include_router(media_route.router)
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
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: Temporal and the product database both answer (503 naming which not)."""
        context: Receiver = request.app.state.receiver
        checks = {
            "temporal": await _answers(context.temporal.service_client.check_health()),
            "database": await _answers(asyncio.to_thread(_select_one, context.engine)),
        }
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", **checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        """The product's counters for Prometheus (see core/telemetry.py)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

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


async def _answers(check: Awaitable[object]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await check
    except Exception:  # whatever the failure, the answer is "not ready"
        return False
    return True


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def watch_intake(engine: Engine) -> None:
    """The journal's backlog, read when Prometheus scrapes (one query each), not polled.

    With the database away the two gauges read NaN ("unknown"): the scrape itself, and every
    other series in it, must not fail with them.
    """

    def backlog() -> journal.Backlog | None:
        try:
            return journal.backlog(engine)
        except SQLAlchemyError:
            return None

    def events() -> float:
        found = backlog()
        return math.nan if found is None else found.events

    def oldest_age() -> float:
        found = backlog()
        return math.nan if found is None else found.oldest_age_seconds() or 0.0

    INTAKE_BACKLOG.set_function(events)
    INTAKE_OLDEST.set_function(oldest_age)

"""The webhook server: `uvicorn webhooks.app:app`.

Receivers are thin: check the signature, parse, signal-with-start the conversation, and answer
2xx only after Temporal accepted the signal. They never call Zendesk or send texts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from temporalio.client import Client

from core.db import make_engine
from core.process import configure_logging
from core.settings import Settings, get_settings
from core.temporal import connect
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
        client = temporal or await connect(config)
        app.state.receiver = Receiver(
            settings=config, temporal=client, engine=engine or make_engine(config.database_url)
        )
        logging.getLogger(__name__).info("webhooks ready, signalling %s", config.temporal_address)
        yield

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

    return app


app = create_app()

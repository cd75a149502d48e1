"""The webhook server: `uvicorn webhooks.app:app`.

Receivers are thin: check the signature, parse, signal-with-start the conversation, and answer
2xx only after Temporal accepted the signal. They never call Zendesk or send texts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.db import make_engine
from core.settings import Settings, get_settings
from webhooks import outbound, sms, zendesk
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
        client = temporal or await Client.connect(
            config.temporal_address,
            namespace=config.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
        app.state.receiver = Receiver(
            settings=config, temporal=client, engine=engine or make_engine(config.database_url)
        )
        logging.getLogger(__name__).info("webhooks ready, signalling %s", config.temporal_address)
        yield

    app = FastAPI(title="smsdesk webhooks", lifespan=lifespan)
    app.include_router(sms.router)
    app.include_router(zendesk.router)
    app.include_router(outbound.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()

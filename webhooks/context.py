"""What every receiver needs: settings, the Temporal client and the database engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import ParamSpec, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from core.conversation import WORKFLOW_NAME, ConversationInput
from core.settings import Settings

log = logging.getLogger(__name__)
SIGNAL_TIMEOUT = timedelta(seconds=10)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Receiver:
    settings: Settings
    temporal: Client
    engine: Engine

    async def signal_conversation(
        self, *, sender_number: str, customer_phone: str, signal: str, payload: BaseModel
    ) -> str:
        """Signal-with-start the conversation; returns once Temporal has accepted the signal,
        so a 2xx to the provider means the event is durable."""
        start = ConversationInput.for_numbers(sender_number, customer_phone, self.settings)
        with _accepted_or_503(signal, start.conversation_id):
            await self.temporal.start_workflow(
                WORKFLOW_NAME,
                start,
                id=start.conversation_id,
                task_queue=self.settings.temporal_task_queue,
                start_signal=signal,
                start_signal_args=[payload],
                # Answer before the provider gives up on us (Twilio waits 15 s).
                rpc_timeout=SIGNAL_TIMEOUT,
            )
        return start.conversation_id

    async def signal_running(self, workflow_id: str, *, signal: str, payload: BaseModel) -> None:
        """Signal a conversation known to be running; 503 (the sender retries) if it is not."""
        with _accepted_or_503(signal, workflow_id):
            await self.temporal.get_workflow_handle(workflow_id).signal(
                signal, payload, rpc_timeout=SIGNAL_TIMEOUT
            )

    async def in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking database call off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


@contextmanager
def _accepted_or_503(signal: str, workflow_id: str) -> Iterator[None]:
    """Not accepted by Temporal means not acknowledged: a 503 makes the provider retry."""
    try:
        yield
    except RPCError as exc:
        log.error("Temporal refused %s for %s: %s", signal, workflow_id, exc)
        raise HTTPException(503, "temporarily unable to accept events; retry later") from exc


async def receiver(request: Request) -> Receiver:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    context: Receiver = request.app.state.receiver
    return context

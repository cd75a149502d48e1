"""What every receiver needs: settings, the database engine and the intake door to Temporal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from temporalio.client import Client

from core.messages import ConversationEvent
from core.settings import Settings
from core.ticket_metrics import TicketMetricsInput
from intake.door import Door, Outcome, Unavailable
from intake.handoff import Handoff

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Receiver:
    settings: Settings
    temporal: Client
    engine: Engine
    door: Door

    async def signal_conversation(
        self, *, sender_number: str, customer_phone: str, event: ConversationEvent
    ) -> Outcome:
        """Hand the event to its conversation (started if need be); returns once the event
        is durable, so a 2xx to the provider keeps its promise."""
        handoff = Handoff.conversation_event(
            event,
            sender_number=sender_number,
            customer_phone=customer_phone,
            settings=self.settings,
        )
        with _durable_or_503():
            return await self.door.hand_over(handoff)

    async def signal_running(self, workflow_id: str, *, event: ConversationEvent) -> Outcome:
        """Hand the event to a conversation known to be running, by its workflow id."""
        with _durable_or_503():
            return await self.door.hand_over(
                Handoff.running_conversation_event(event, workflow_id=workflow_id)
            )

    async def start_ticket_metrics(self, request: TicketMetricsInput) -> Outcome:
        with _durable_or_503():
            return await self.door.hand_over(Handoff.ticket_metrics(request))

    async def in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking database call off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


@contextmanager
def _durable_or_503() -> Iterator[None]:
    """Not durable means not acknowledged: the sender may still try again, and if it does not,
    the reconciler finds the event at its source."""
    try:
        yield
    except Unavailable as exc:
        raise HTTPException(503, "temporarily unable to accept events; retry later") from exc


async def receiver(request: Request) -> Receiver:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    context: Receiver = request.app.state.receiver
    return context

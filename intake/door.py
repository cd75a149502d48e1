"""The door every event comes through: Temporal if it answers quickly, else the journal.

A webhook's 2xx promises the event is durable. Twilio never re-sends an inbound text answered
with a 5xx or after 15 s, and Zendesk gives up after a few tries, so a slow or absent Temporal
must not turn into a 503: the event goes to the intake journal instead, and the forwarder
delivers it later. Only when the database refuses too is the event not durable (`Unavailable`).

Order per workflow: once one of a workflow's events is journaled, the ones after it are
journaled too until the forwarder has caught up, so they reach the workflow in arrival order.
After Temporal failed, the door journals everything for a short while instead of making each
webhook wait out the timeout again; the forwarder finds out when Temporal is back.

A slow Temporal is not waited out either: after `INTAKE_WAIT_SECONDS` the event is journaled
and the webhook answers, while the delivery goes on; if it lands, the journaled copy is
deleted. For a second after that, events are journaled at once.

A busy Temporal is met the same way before it fails: each process hands Temporal at most
`INTAKE_MAX_IN_FLIGHT` events at a time (the door's and the forwarder's together). An event that
finds every slot taken is journaled at once rather than queued for Temporal: in a reply storm
the webhook answers in milliseconds, and Temporal gets texts no faster than it takes them
(`bench/run.py --mode storm`: p99 1.2 s when every webhook waited out Temporal's 1 s first).
While the door sheds events like this, the forwarder gives way to it (`intake/forwarder.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Literal, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from core.telemetry import record_events
from intake import journal
from intake.handoff import Handoff

log = logging.getLogger(__name__)
Outcome = Literal["accepted", "journaled", "duplicate"]
#: Answers that say Temporal is slow or away, not that this one event is wrong.
TEMPORAL_DOWN = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
    }
)


#: The door's own threads for its journal reads and writes. On the default executor a webhook's
#: write queued behind the forwarder's deliveries' reads and deletes, dozens at a time in a storm.
_DOOR_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="intake-door")
_P = ParamSpec("_P")
_T = TypeVar("_T")


async def _in_door_thread(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_DOOR_THREADS, functools.partial(call, *args, **kwargs))


#: After a delivery outlived its webhook's wait, the door journals at once for this long: in a
#: reply storm one text a second waits for Temporal, not every one (`--mode storm`: p50 106 ms
#: when each waited the 0.1 s).
SLOW_SECONDS = 1.0


class Unavailable(Exception):
    """Neither Temporal nor the database could take the event: it is not durable."""


class Door:
    def __init__(self, temporal: Client, engine: Engine, settings: Settings) -> None:
        self.temporal = temporal
        self.engine = engine
        self.settings = settings
        self.timeout = timedelta(seconds=settings.intake_signal_timeout_seconds)
        self.wait = min(settings.intake_wait_seconds, settings.intake_signal_timeout_seconds)
        self._journal_until = 0.0  # monotonic time until which Temporal is not tried
        self._slow_until = 0.0  # ... and until which it is thought too slow to wait for
        #: Deliveries to Temporal under way; the forwarder waits for a slot, the door does not.
        self.temporal_slots = asyncio.Semaphore(settings.intake_max_in_flight)
        #: Deliveries that outlived their webhook's wait, each with its journaled copy.
        self._late: set[asyncio.Task[None]] = set()
        self._shed_at = -math.inf  # when an event was last journaled for a busy Temporal

    async def hand_over(self, handoff: Handoff) -> Outcome:
        """Make the event durable: accepted by Temporal, or journaled.

        Raises:
            Unavailable: neither Temporal nor the database took it.
        """
        if self.temporal_suspect():
            return await self.journal(handoff)
        if self.temporal_slow() or self.temporal_slots.locked():
            self._shed_at = time.monotonic()
            return await self.journal(handoff)
        await self.temporal_slots.acquire()  # free, as just checked: taken without a wait
        delivery = asyncio.create_task(self._through_temporal(handoff))
        delivery.add_done_callback(lambda _: self.temporal_slots.release())
        try:
            # Shielded: a delivery that outlives the wait goes on, and usually lands.
            outcome = await asyncio.wait_for(asyncio.shield(delivery), self.wait)
        except TimeoutError:
            return await self._journal_meanwhile(handoff, delivery)
        if outcome is None:
            return await self.journal(handoff)
        return _counted(handoff, outcome)

    async def _journal_meanwhile(
        self, handoff: Handoff, delivery: asyncio.Task[Outcome | None]
    ) -> Outcome:
        """Temporal is slow, not (yet) failed: journal the event so the webhook can answer,
        and let the delivery finish. If it lands, the journaled copy is removed; if the
        forwarder got to the copy first, the workflow drops the second delivery by its id."""
        now = time.monotonic()
        self._shed_at, self._slow_until = now, now + SLOW_SECONDS
        try:
            outcome = await self.journal(handoff)
        except Unavailable:
            delivered = await delivery
            if delivered is None:  # the database refused, and Temporal did not take it
                raise
            return _counted(handoff, delivered)
        late = asyncio.create_task(self._forget_copy_once_delivered(handoff, delivery))
        self._late.add(late)
        late.add_done_callback(self._late.discard)
        return outcome

    async def _forget_copy_once_delivered(
        self, handoff: Handoff, delivery: asyncio.Task[Outcome | None]
    ) -> None:
        if await delivery is None:
            return  # the copy is the event now; the forwarder delivers it
        try:
            await _in_door_thread(journal.forget_copy, self.engine, dedupe_key=handoff.dedupe_key)
        except SQLAlchemyError as exc:  # the forwarder delivers it again; the workflow drops it
            log.warning("could not remove the journaled copy of %s: %s", handoff.dedupe_key, exc)

    async def close(self) -> None:
        """Stop the deliveries that outlived their wait; each one's event is journaled."""
        for task in list(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)

    async def _through_temporal(self, handoff: Handoff) -> Outcome | None:
        """Hand the event to Temporal unless it must queue behind journaled ones; None when
        it is left for the journal."""
        try:
            waiting = await _in_door_thread(
                journal.has_waiting, self.engine, workflow_id=handoff.workflow_id
            )
        except SQLAlchemyError:
            waiting = False  # no journal to queue behind; Temporal alone can take it
        if waiting:
            return None
        try:
            # The client retries an unreachable server on its own, past any `rpc_timeout`:
            # only a deadline of ours bounds the wait.
            async with asyncio.timeout(self.timeout.total_seconds()):
                new = await handoff.deliver(self.temporal, self.settings, timeout=self.timeout)
            return "accepted" if new else "duplicate"
        except (RPCError, TimeoutError) as exc:
            if not isinstance(exc, RPCError) or exc.status in TEMPORAL_DOWN:
                self.suspect_temporal()
            log.warning(
                "Temporal did not take %s for %s (%s); journaling it",
                handoff.action,
                handoff.workflow_id,
                str(exc) or f"no answer within {self.timeout.total_seconds():g} s",
            )
            return None

    async def journal(self, handoff: Handoff) -> Outcome:
        try:
            added = await _in_door_thread(journal.add, self.engine, event=handoff.journal_row())
        except SQLAlchemyError as exc:
            log.error("intake journal refused %s: %s", handoff.workflow_id, exc)
            raise Unavailable("neither Temporal nor the product database took the event") from exc
        return _counted(handoff, "journaled" if added else "duplicate")

    def shed_within(self, seconds: float) -> bool:
        """Whether, within the last `seconds`, the door journaled an event because Temporal
        was busy or slow (not because it failed): webhooks are arriving faster than it takes
        them, as in a reply storm."""
        return time.monotonic() - self._shed_at < seconds

    def temporal_suspect(self) -> bool:
        return time.monotonic() < self._journal_until

    def temporal_slow(self) -> bool:
        return time.monotonic() < self._slow_until

    def suspect_temporal(self) -> None:
        self._journal_until = time.monotonic() + self.settings.intake_suspect_seconds

    def trust_temporal(self) -> None:
        self._journal_until = 0.0


def _counted(handoff: Handoff, outcome: Outcome) -> Outcome:
    record_events(handoff.kind, outcome)
    return outcome

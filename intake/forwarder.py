"""The forwarder: hands journaled events to Temporal once it answers again.

Each pass claims the workflows whose events have waited longest and delivers each workflow's
events one by one, oldest first, deleting each once Temporal has it. A claim is a lease in the
database, so several forwarders (one per webhook replica) share the work on PostgreSQL without
forwarding an event twice or out of order; one that dies leaves its lease to expire. A
delivery that is repeated anyway (Temporal took it but the delete was lost) is dropped by the
workflow, which remembers the ids it has seen.

While the webhooks journal events because Temporal is busy (a reply storm), the forwarder gives
way: its deliveries would only compete with theirs for the same saturated Temporal, and for
the cores and the event loop the webhooks answer from. In one run of `bench/run.py --mode
storm` that held the forwarder through the storm, the webhooks' p99 was 112 ms against 348 ms
in the same storm without; the drain, bound by Zendesk's budgets, kept its ratio to the fastest
the budgets allow. It gives way `MAX_GIVE_WAY` at most at a stretch, so a backlog still moves
in a long storm.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError, RPCStatusCode

from core.messages import InboundSms
from core.tables import IntakeEvent
from core.telemetry import INTAKE_FORWARDED
from infra import db
from intake import journal
from intake.door import Door
from intake.handoff import Handoff

log = logging.getLogger(__name__)

#: Longer than any one delivery may take, so a live claimant never loses its lease.
LEASE = timedelta(seconds=60)
DELIVERY_TIMEOUT = timedelta(seconds=10)
#: Workflows taken per pass, and events per workflow read at a time.
WORKFLOWS_PER_PASS = 50
EVENTS_PER_READ = 100
#: The forwarder waits while the door has shed an event within this long...
GIVE_WAY = timedelta(seconds=0.5)
#: ...but no longer than this at a stretch before it forwards once more.
MAX_GIVE_WAY = timedelta(seconds=10)
#: A journaled event this version cannot read, with the reason.
Unreadable = tuple[IntakeEvent, str]


class Forwarder:
    def __init__(
        self,
        door: Door,
        *,
        idle_seconds: float = 0.5,
        max_give_way: timedelta = MAX_GIVE_WAY,
    ) -> None:
        self.door = door
        self.owner = f"forwarder-{uuid.uuid4().hex[:12]}"
        self.idle_seconds = idle_seconds
        self.max_give_way = max_give_way
        self.forwarded = 0

    async def run(self) -> None:
        """Forward until cancelled; a failed pass backs off, up to 10 s between tries."""
        pause = self.idle_seconds
        giving_way_since: float | None = None
        while True:
            if self.door.shed_within(GIVE_WAY.total_seconds()):
                now = time.monotonic()
                giving_way_since = giving_way_since or now
                if now - giving_way_since < self.max_give_way.total_seconds():
                    await asyncio.sleep(GIVE_WAY.total_seconds())
                    continue
            giving_way_since = None
            try:
                moved, blocked = await self.forward_once()
            except SQLAlchemyError as exc:
                log.error("intake forwarder cannot read the journal: %s", exc)
                moved, blocked = 0, True
            except Exception:
                # Whatever went wrong with one pass, the next must still run: a forwarder
                # that dies quietly strands every journaled event behind it.
                log.exception("intake forwarder pass failed; trying again")
                moved, blocked = 0, True
            if moved and not blocked:
                pause = self.idle_seconds
                continue  # more may be waiting
            pause = min(pause * 2, 10.0) if blocked else self.idle_seconds
            await asyncio.sleep(pause)

    async def forward_once(self) -> tuple[int, bool]:
        """One pass; returns how many events went to Temporal and whether Temporal refused."""
        engine = self.door.engine
        waiting = await asyncio.to_thread(
            journal.waiting_workflows, engine, limit=WORKFLOWS_PER_PASS
        )
        if not waiting:
            return 0, False
        results = await asyncio.gather(*(self._forward_workflow(w) for w in waiting))
        moved = sum(count for count, _ in results)
        blocked = any(refused for _, refused in results)
        if moved:
            self.forwarded += moved
            INTAKE_FORWARDED.inc(moved)
            if not blocked:
                self.door.trust_temporal()
            log.info("forwarded %d journaled event(s) to Temporal", moved)
        return moved, blocked

    async def _forward_workflow(self, workflow_id: str) -> tuple[int, bool]:
        engine = self.door.engine
        claimed = await asyncio.to_thread(
            journal.claim, engine, workflow_id=workflow_id, owner=self.owner, lease=LEASE
        )
        if not claimed:
            return 0, False
        moved = 0
        try:
            while True:
                events = await asyncio.to_thread(
                    journal.waiting_events, engine, workflow_id=workflow_id, limit=EVENTS_PER_READ
                )
                if not events:
                    return moved, False
                readable, unreadable = _read(events)
                handled = await self._handled_texts([handoff for _, handoff in readable])
                for row_id, handoff in readable:
                    try:
                        if not _already_handled(handoff, handled):
                            async with (
                                self.door.temporal_slots,  # shared with the webhooks' door
                                asyncio.timeout(DELIVERY_TIMEOUT.total_seconds()),
                            ):
                                await handoff.deliver(
                                    self.door.temporal,
                                    self.door.settings,
                                    timeout=DELIVERY_TIMEOUT,
                                )
                    except (RPCError, TimeoutError) as exc:
                        if (
                            handoff.action == "signal"
                            and isinstance(exc, RPCError)
                            and exc.status is RPCStatusCode.NOT_FOUND
                        ):
                            # The run it was meant for has ended; the reconciler finds the
                            # event again through the ticket's link and signal-with-start.
                            log.error(
                                "dropped %s: %s is not running", handoff.dedupe_key, workflow_id
                            )
                            await asyncio.to_thread(journal.forget, engine, event_id=row_id)
                            continue
                        await asyncio.to_thread(
                            journal.note_failure,
                            engine,
                            event_id=row_id,
                            error=str(exc) or type(exc).__name__,
                        )
                        return moved, True  # the rest waits behind it, in order
                    await asyncio.to_thread(journal.forget, engine, event_id=row_id)
                    moved += 1
                if unreadable is not None:
                    # Written by a version that read events differently: held, not lost, with
                    # the reason for an operator (`starter.py intake` shows it waits), and the
                    # workflow's later events wait behind it.
                    row, error = unreadable
                    assert row.id is not None
                    log.error("journaled event %s is unreadable: %s", row.dedupe_key, error)
                    await asyncio.to_thread(
                        journal.note_failure, engine, event_id=row.id, error=error
                    )
                    return moved, True
                await asyncio.to_thread(
                    journal.claim, engine, workflow_id=workflow_id, owner=self.owner, lease=LEASE
                )
        finally:
            await asyncio.to_thread(
                journal.release, engine, workflow_id=workflow_id, owner=self.owner
            )

    async def _handled_texts(self, handoffs: list[Handoff]) -> set[str]:
        """Which of these texts the message log holds: one query per read, not one per text
        (a storm's drain forwards a thousand texts)."""
        sids = [h.payload.message_sid for h in handoffs if isinstance(h.payload, InboundSms)]
        if not sids:
            return set()
        return await asyncio.to_thread(db.known_sids, self.door.engine, provider_sids=sids)


def _read(events: list[IntakeEvent]) -> tuple[list[tuple[int, Handoff]], Unreadable | None]:
    """The events up to the first one this version cannot read, and that one with why."""
    readable: list[tuple[int, Handoff]] = []
    for row in events:
        assert row.id is not None
        try:
            readable.append((row.id, Handoff.from_journal(row)))
        except ValidationError as exc:
            return readable, (row, str(exc))
    return readable, None


def _already_handled(handoff: Handoff, handled: set[str]) -> bool:
    """A text the message log holds was handled by a run that may have ended since:
    delivering it again would start a fresh run for nothing."""
    return isinstance(handoff.payload, InboundSms) and handoff.payload.message_sid in handled

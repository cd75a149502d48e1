"""The order `replay` keeps: file order within a conversation, concurrency across them.

An event starts only once the previous event of its conversation has finished (accepted or
failed), so a conversation sees its events in the recorded order. Events of different
conversations overlap, at most `concurrency` at a time; waiting slots are handed out first come,
first served, so the file's order is kept as far as the conversations allow. Only a bounded
window of events is in flight, so a file of any length replays in constant memory.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from pydantic import BaseModel

from cli.replay_events import Recorded
from cli.replay_progress import Progress


class Outcome(BaseModel):
    """What became of one event."""

    line: int
    type: str
    accepted: bool
    error: str | None = None


class EventSender(Protocol):
    async def send(self, recorded: Recorded) -> Outcome:
        """Deliver one event; failures are returned as an `Outcome`, never raised."""
        ...


async def replay_all(
    events: list[Recorded], sender: EventSender, *, concurrency: int, progress: Progress
) -> list[Outcome]:
    """Send every event, in order per conversation; returns their outcomes in file order."""
    slots = asyncio.Semaphore(concurrency)
    window = asyncio.Semaphore(concurrency * 4)
    tails: dict[tuple[str, str], asyncio.Task[Outcome]] = {}
    tasks: list[asyncio.Task[Outcome]] = []

    async def run_one(recorded: Recorded, previous: asyncio.Task[Outcome] | None) -> Outcome:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # whatever its outcome: later events still go
            async with slots:
                outcome = await sender.send(recorded)
        finally:
            window.release()
        progress.advance(ok=outcome.accepted)
        return outcome

    for recorded in events:
        await window.acquire()
        key = recorded.event.conversation
        task = asyncio.create_task(run_one(recorded, tails.get(key)))
        tails[key] = task
        tasks.append(task)
    outcomes = list(await asyncio.gather(*tasks))
    progress.close()
    return outcomes

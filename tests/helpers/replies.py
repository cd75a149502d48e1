"""A long agent reply (B12) and how a test follows its parts: the reply, the agent comment it
was written as, the texts that reached the customer, and a part caught mid-send."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from core.split import MAX_BODY_CHARS
from core.tables import SendStatus
from infra import db
from tests.helpers.stack import Stack, eventually
from tests.helpers.tickets import ticket_now

#: About 3,500 characters: three texts. Numbered so the order of the parts shows.
LONG_REPLY = "\n\n".join(
    f"{i}. Sorry for the wait: your parcel left our warehouse in Lyon and is with the carrier."
    for i in range(1, 41)
)


MESSAGES = "/Messages.json"


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def agent_comment_id(stack: Stack, ticket_id: int, body: str) -> int:
    ticket = await ticket_now(stack, ticket_id)
    [comment_id] = [c["id"] for c in ticket["comments"] if c["body"] == body]
    return int(comment_id)


async def texts_at_least(stack: Stack, customer: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        texts = await stack.texts_to(customer)
        return texts if len(texts) >= count else None

    return await eventually(enough, timeout=90)


async def in_flight(stack: Stack, key: str) -> None:
    """Wait until the send journal holds `key` and its text is on its way to the provider."""

    async def sending() -> bool:
        row = await asyncio.to_thread(db.find_by_key, stack.engine, idempotency_key=key)
        return row is not None and row.status is SendStatus.SENDING

    await eventually(sending)


def assert_whole_reply_once_in_order(texts: list[dict[str, Any]]) -> None:
    bodies = [t["body"] for t in texts]
    assert len(bodies) == 3, bodies
    assert all(len(body) <= MAX_BODY_CHARS for body in bodies)
    assert words(" ".join(bodies)) == words(LONG_REPLY)  # whole, in order, nothing twice
    assert len({t["sid"] for t in texts}) == 3

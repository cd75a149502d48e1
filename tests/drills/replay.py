"""Playing a `DrillScript` against the stack: every customer at once (staggered starts), each
customer's steps in order, and the worker SIGKILLed (and restarted) when given shares of the
events have gone out.

An agent acts on what Zendesk shows, so a reply, a note or a status change waits until the
customer's latest text is on a ticket, and goes to that ticket.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from functools import partial

from core.conversation import conversation_id
from devstack.cluster import Cluster
from devstack.sandboxes import AGENT_ID
from tests.drills.harness import ZendeskView, agent_call, ticket_with, where_is
from tests.drills.script import CustomerScript, DrillScript, Step
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually

#: How long an agent waits for a text to show in Zendesk (a kill stalls in-flight activities
#: until their 30 s start-to-close timeout).
TEXT_SHOWS_WITHIN = 150.0
#: With no worker running, events still arrive and queue up in Temporal for this long.
DOWN_FOR = 2.0


@dataclass
class ReplayLog:
    events: int = 0
    deliveries: int = 0
    kills_at: list[int] = field(default_factory=list)


class Replay:
    def __init__(
        self,
        stack: Stack,
        view: ZendeskView,
        cluster: Cluster,
        script: DrillScript,
        *,
        kill_after: tuple[float, ...],
        stagger: float,
    ) -> None:
        self.stack, self.view, self.cluster, self.script = stack, view, cluster, script
        self.kill_at = [int(share * script.events) for share in kill_after]
        self.stagger = stagger
        self.log = ReplayLog()
        self._restarts: list[asyncio.Task[None]] = []

    async def run(self) -> ReplayLog:
        async with asyncio.TaskGroup() as group:
            for index, customer in enumerate(self.script.customers):
                group.create_task(self._customer(customer, delay=index * self.stagger))
        await asyncio.gather(*self._restarts)
        return self.log

    async def _customer(self, customer: CustomerScript, delay: float) -> None:
        await asyncio.sleep(delay)
        external_id = conversation_id(ACCOUNT_NUMBER, customer.phone, self.stack.settings)
        last_text: str | None = None
        replied: list[str] = []
        for step in customer.steps:
            if step.kind == "stop":
                # A customer texts STOP after reading the replies so far (a STOP that overtakes
                # a reply in flight rightly stops it, but then the script cannot know which).
                await eventually(
                    partial(self._texted, customer.phone, list(replied)), TEXT_SHOWS_WITHIN
                )
            if step.kind in ("text", "stop"):
                await self._text(customer.phone, step)
                if step.kind == "text":
                    last_text = step.body
            else:
                assert last_text is not None, "the agent acts on a ticket the customer opened"
                try:
                    ticket = await self.view.wait_for(
                        ticket_with(last_text, external_id), TEXT_SHOWS_WITHIN
                    )
                except AssertionError as exc:
                    # A ticket's external id is its conversation's workflow id.
                    where = await where_is(self.stack, external_id, last_text)
                    worker_log = self.cluster.processes["worker"].log_tail(60)
                    raise AssertionError(f"{exc}\n{where}\n{worker_log}") from None
                # No waiting for smsdesk to record the ticket: an agent can reply as soon as it
                # shows, even while a killed worker's retry has yet to write the ticket link.
                await agent_call(self.stack, ticket["id"], _agent_update(step))
                if step.kind == "reply":
                    replied.append(step.body)
            self._issued()

    async def _texted(self, phone: str, bodies: list[str]) -> bool:
        sent = {message["body"] for message in await self.stack.texts_to(phone)}
        return all(body in sent for body in bodies)

    async def _text(self, phone: str, step: Step) -> None:
        sid = "SM" + uuid.uuid4().hex
        for _ in range(2 if step.duplicate else 1):
            response = await self.stack.text(phone, step.body, sid=sid)
            assert response.status_code == 200, response.text
            self.log.deliveries += 1

    def _issued(self) -> None:
        self.log.events += 1
        if self.log.events in self.kill_at:
            self.cluster.processes["worker"].kill()
            self.log.kills_at.append(self.log.events)
            self._restarts.append(asyncio.create_task(self._restart()))

    async def _restart(self) -> None:
        await asyncio.sleep(DOWN_FOR)
        self.cluster.start_worker()


def _agent_update(step: Step) -> dict[str, object]:
    if step.kind in ("reply", "note"):
        return {
            "comment": {"body": step.body, "public": step.kind == "reply", "author_id": AGENT_ID}
        }
    return {"status": "solved" if step.kind == "solve" else "closed"}

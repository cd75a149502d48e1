"""What the drills need besides `tests/helpers/stack.py` and the parts they run as processes
(`devstack.cluster`): a cheap shared view of the sandbox Zendesk, where a missing text is stuck,
and the agent's API calls made the way a Zendesk client makes them (retrying 429/5xx, which the
sandbox refuses before acting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from core.reconcile import SCHEDULE_ID
from intake import journal
from tests.helpers.stack import Stack


async def remove_reconcile_schedule(client: Client) -> None:
    """`python worker.py` keeps the product's reconcile schedule on the (shared) test server;
    a drill removes it after, or it would go on starting runs nobody polls for."""
    try:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    except RPCError:
        pass  # not made, or already gone


class ZendeskView:
    """All tickets, refreshed by one poller: 100 customers waiting for their texts would
    otherwise each fetch every ticket many times a second."""

    def __init__(self, stack: Stack, every: float = 0.4) -> None:
        self.stack = stack
        self.every = every
        self.tickets: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ZendeskView:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _poll(self) -> None:
        while True:
            tickets = await self.stack.tickets()
            async with self._changed:
                self.tickets = tickets
                self._changed.notify_all()
            await asyncio.sleep(self.every)

    async def wait_for(
        self, found: Callable[[list[dict[str, Any]]], dict[str, Any] | None], timeout: float
    ) -> dict[str, Any]:
        """The first ticket `found` picks, once it shows; AssertionError after `timeout`."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while (ticket := found(self.tickets)) is None:
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"not in Zendesk after {timeout:g} s: {found.__doc__}") from None
        return ticket


async def where_is(stack: Stack, workflow_id: str, body: str) -> str:
    """Where a text that never showed is stuck: on another ticket, still in the intake
    journal, or inside its workflow (pending activities and their last failures)."""
    lines = []
    for ticket in await stack.tickets():
        for comment in ticket["comments"]:
            if body in comment["body"]:
                lines.append(
                    f"on ticket {ticket['id']} (external_id {ticket.get('external_id')}, "
                    f"status {ticket.get('status')}, public {comment['public']})"
                )
    waiting = await asyncio.to_thread(
        journal.waiting_events, stack.engine, workflow_id=workflow_id, limit=20
    )
    lines += [
        f"journaled: {row.dedupe_key} attempts={row.attempts} error={row.last_error!r}"
        for row in waiting
    ]
    try:
        described = await stack.client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        lines.append(f"workflow {workflow_id}: {exc}")
    else:
        raw = described.raw_description
        history_length = raw.workflow_execution_info.history_length
        lines.append(f"workflow {workflow_id}: {described.status}, {history_length} events")
        for activity in raw.pending_activities:
            lines.append(
                f"pending {activity.activity_type.name} attempt {activity.attempt} "
                f"state {activity.state} last failure {activity.last_failure.message!r}"
            )
        if raw.HasField("pending_workflow_task"):
            task = raw.pending_workflow_task
            lines.append(f"pending workflow task: state {task.state} attempt {task.attempt}")
    return "\n".join(lines) or "nowhere: not on a ticket, not journaled, no workflow"


def ticket_with(body: str, external_id: str) -> Callable[[list[dict[str, Any]]], Any]:
    """Picks the conversation's ticket whose public comments hold `body`."""

    def found(tickets: list[dict[str, Any]]) -> dict[str, Any] | None:
        for ticket in tickets:
            if ticket.get("external_id") != external_id:
                continue
            if any(c["public"] and body in c["body"] for c in ticket["comments"]):
                return ticket
        return None

    found.__doc__ = f"{body!r} on a ticket of {external_id}"
    return found


async def agent_call(stack: Stack, ticket_id: int, ticket: dict[str, Any]) -> None:
    """`PUT /api/v2/tickets/{id}` as the agent's Zendesk client does it: a 429 or 5xx (refused
    before anything changed) is tried again after a pause."""
    for attempt in range(60):
        response = await stack.zendesk(
            "PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": ticket}
        )
        if response.status_code == 429 or response.status_code >= 500:
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
            continue
        response.raise_for_status()
        return
    raise AssertionError(f"Zendesk kept refusing the agent's update of ticket {ticket_id}")

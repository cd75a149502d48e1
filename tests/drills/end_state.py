"""Quiescence and the exact end state a drill must reach (B4: every side effect exactly once).

Each check returns the problems it found, as sentences naming the customer and the token, so a
failing drill says what went wrong rather than that two numbers differ.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.conversation import conversation_id
from tests.drills.script import DrillScript
from tests.helpers.stack import ACCOUNT_NUMBER, Stack

OPENED, RESOLVED = "Opened Ticket", "Resolved Ticket"
NOT_SENT_NOTE = "was not sent to the customer by SMS"


@dataclass
class World:
    """What the outside world holds at the end: Zendesk, the SMS provider, Klaviyo."""

    tickets: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def dump(self, path: Path, script: DrillScript) -> None:
        """Everything a failed drill saw, for a post-mortem."""
        payload = {"script": asdict(script), **asdict(self)}
        path.write_text(json.dumps(payload, indent=1, default=str))

    @classmethod
    async def read(cls, stack: Stack) -> World:
        texts = (await stack.http.get(stack.url("twilio", "/_sandbox/messages"))).json()
        return cls(await stack.tickets(), texts["messages"], await stack.klaviyo_events())


async def quiesce(stack: Stack, *, timeout: float = 180.0) -> None:
    """Wait until no webhook is in flight, no ticket metric runs and every conversation has
    handled what it received; twice in a row, a second apart, to be sure."""
    queue = stack.settings.temporal_task_queue
    quiet_in_a_row = 0
    async with asyncio.timeout(timeout):
        while quiet_in_a_row < 2:
            for service in ("zendesk", "twilio"):
                await stack.http.post(stack.url(service, "/_sandbox/flush"))
            busy = 0
            query = f'TaskQueue="{queue}" AND ExecutionStatus="Running"'
            async for execution in stack.client.list_workflows(query):
                if execution.workflow_type != "SmsConversation":
                    busy += 1
                    continue
                handle = stack.client.get_workflow_handle(execution.id)
                view = await handle.query("state")
                busy += view["queued"] > 0 or view["busy"]
            quiet_in_a_row = quiet_in_a_row + 1 if busy == 0 else 0
            await asyncio.sleep(1.0)


def check(script: DrillScript, world: World, stack: Stack) -> list[str]:
    problems: list[str] = []
    for customer in script.customers:
        external_id = conversation_id(ACCOUNT_NUMBER, customer.phone, stack.settings)
        tickets = [t for t in world.tickets if t.get("external_id") == external_id]
        texted = [m["body"] for m in world.texts if m["to"] == customer.phone]
        who = f"{customer.phone}"
        if len(tickets) != customer.expected_tickets():
            problems.append(
                f"{who}: {len(tickets)} tickets, expected {customer.expected_tickets()}"
            )
        written = Counter(
            body
            for ticket in tickets
            for comment in ticket["comments"]
            if comment["public"] and comment["author_id"] == ticket["requester_id"]
            for body in customer.ticket_texts()
            if body in comment["body"]
        )
        for body in customer.ticket_texts():
            if written[body] != 1:
                problems.append(f"{who}: text {body!r} is in Zendesk {written[body]} times")
        sent, unsent = customer.replies()
        for body in sent:
            if texted.count(body) != 1:
                problems.append(f"{who}: reply {body!r} was texted {texted.count(body)} times")
        for body in unsent:
            if body in texted:
                problems.append(f"{who}: reply {body!r} was texted after STOP")
        notes = sum(
            NOT_SENT_NOTE in c["body"] for t in tickets for c in t["comments"] if not c["public"]
        )
        if notes != len(unsent):
            problems.append(f"{who}: {notes} not-sent notes for {len(unsent)} unsent replies")
        if not customer.consented and len(texted) != 1:
            problems.append(f"{who}: no consent, yet {len(texted)} texts (one auto-reply expected)")
        closed = sum(t["status"] == "closed" for t in tickets)
        if closed != customer.expected_closes():
            problems.append(
                f"{who}: {closed} closed tickets, expected {customer.expected_closes()}"
            )
    return problems + check_metrics(world)


def check_metrics(world: World) -> list[str]:
    """One Opened Ticket per ticket, one Resolved Ticket per closed ticket, nothing else."""
    counted = Counter((e["metric"], e["properties"]["Ticket_ID"]) for e in world.events)
    problems = []
    for ticket in world.tickets:
        want = {OPENED: 1, RESOLVED: 1 if ticket["status"] == "closed" else 0}
        for metric, count in want.items():
            if counted.pop((metric, ticket["id"]), 0) != count:
                problems.append(f"ticket {ticket['id']}: {metric} not sent exactly {count} times")
    problems += [f"unexpected {metric} events for ticket {tid}" for metric, tid in counted]
    return problems

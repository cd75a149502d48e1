"""What a test reads back from the sandboxes: a customer's first ticket, a ticket as it is now,
its public and internal comments, and the Klaviyo events sent for it."""

from __future__ import annotations

from typing import Any

from core.ticket_metrics import Metric
from tests.helpers.stack import Stack, eventually


async def first_ticket(stack: Stack, customer: str) -> dict[str, Any]:
    async def created() -> dict[str, Any] | None:
        tickets = await stack.tickets_of(customer)
        return tickets[0] if tickets else None

    return await eventually(created)


def public_bodies(ticket: dict[str, Any]) -> list[str]:
    return [c["body"] for c in ticket["comments"] if c["public"]]


def internal_notes(ticket: dict[str, Any]) -> list[str]:
    return [c["body"] for c in ticket["comments"] if not c["public"]]


async def ticket_now(stack: Stack, ticket_id: int) -> dict[str, Any]:
    response = await stack.http.get(stack.url("zendesk", f"/_sandbox/tickets/{ticket_id}"))
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    ticket: dict[str, Any] = body.get("ticket", body)
    return ticket


async def events(stack: Stack, ticket_id: int, metric: Metric) -> list[dict[str, Any]]:
    """The Klaviyo events of one metric sent for one ticket."""
    return [
        event
        for event in await stack.klaviyo_events()
        if event["metric"] == metric.value and event["properties"].get("Ticket_ID") == ticket_id
    ]

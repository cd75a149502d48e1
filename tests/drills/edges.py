"""What the edge drills (B9, B1, B10) share: customers with an open ticket each, the exact end
state (every text on its ticket once and in order, every agent reply texted once), and the
figures the closing note reports."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.conversation import STATE_QUERY, conversation_id
from intake import journal
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually


@dataclass
class Customer:
    phone: str
    ticket_id: int = 0
    #: Texts in the order the customer sent them; each must be on the ticket once, in order.
    texts: list[str] = field(default_factory=list)
    #: Public agent replies; each must reach the customer once.
    replies: list[str] = field(default_factory=list)


async def customers_with_tickets(stack: Stack, count: int) -> list[Customer]:
    """`count` consented customers, each of whom has texted once and has an open ticket."""
    customers = [Customer(await stack.new_customer()) for _ in range(count)]
    for customer in customers:
        opening = f"open-{customer.phone}"
        await stack.text(customer.phone, opening)
        customer.texts.append(opening)
    for customer in customers:
        try:
            [ticket] = await eventually(lambda c=customer: stack.tickets_of(c.phone), timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{await _why_no_ticket(stack, customer)}") from exc
        customer.ticket_id = ticket["id"]
    for customer in customers:
        await stack.settled(customer.phone)
    return customers


async def _why_no_ticket(stack: Stack, customer: Customer) -> str:
    """What a drill that never got its ticket reports: where the customer's first text is."""
    try:
        view = await stack.conversation(customer.phone).query(STATE_QUERY)
        conversation = f"conversation: {view}"
    except Exception as exc:  # not started, or not answering: either is the finding
        conversation = f"conversation: no answer ({exc!r})"
    return (
        f"{conversation}\nintake journal: {journal.backlog(stack.engine)}\n"
        f"Zendesk sandbox requests: {await stack.requests_to('zendesk')}"
    )


async def end_state_problems(stack: Stack, customers: Sequence[Customer]) -> list[str]:
    """Each text on the customer's one ticket exactly once and in order; each reply texted
    exactly once; nothing else texted."""
    tickets = {t.get("external_id"): t for t in await stack.tickets()}
    sent = (await stack.http.get(stack.url("twilio", "/_sandbox/messages"))).json()["messages"]
    problems = []
    for customer in customers:
        ticket = tickets.get(conversation_id(ACCOUNT_NUMBER, customer.phone, stack.settings))
        if ticket is None or ticket["id"] != customer.ticket_id:
            problems.append(f"{customer.phone}: its ticket is not #{customer.ticket_id}")
            continue
        written = "\n".join(
            c["body"]
            for c in ticket["comments"]
            if c["public"] and c["author_id"] == ticket["requester_id"]
        )
        places = [written.find(text) for text in customer.texts]
        for text in customer.texts:
            if (found := written.count(text)) != 1:
                problems.append(f"{customer.phone}: {text!r} is on the ticket {found} times")
        if all(p >= 0 for p in places) and places != sorted(places):
            problems.append(f"{customer.phone}: texts out of order on the ticket")
        texted = [m["body"] for m in sent if m["to"] == customer.phone]
        if sorted(texted) != sorted(customer.replies):
            problems.append(f"{customer.phone}: texted {texted}, expected {customer.replies}")
    return problems


def latency_figures(seconds: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000),
        "p99_ms": round(p99 * 1000),
        "max_ms": round(ordered[-1] * 1000),
    }

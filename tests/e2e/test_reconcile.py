"""B1 and B10 end to end: what a dropped webhook never delivered, the reconciler repairs, once.

The sandboxes drop webhooks on request (`drop_next`), as the real services lose them; the
Zendesk export's one-minute lag is shortened so the tests need not wait it out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from core.ticket_metrics import Metric
from tests.helpers.stack import Stack, eventually, running_stack
from tests.helpers.tickets import events, first_ticket


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, engine, reconcile_settle_seconds=0) as running:
        await running.configure("zendesk", incremental_lag_seconds=0)
        yield running


async def test_an_agent_reply_whose_webhook_was_dropped_is_texted_once(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.configure("zendesk", drop_next=1)  # the comment_added event is lost
    await stack.agent_reply(ticket["id"], "It ships today")
    await stack.settled(customer)
    assert await stack.texts_to(customer) == []

    report = await stack.reconcile()
    [comment_id] = report.zendesk.agent_comments
    assert comment_id == (await _comment(stack, ticket["id"], "It ships today"))["id"]
    texts = await eventually(lambda: stack.texts_to(customer))
    assert [t["body"] for t in texts] == ["It ships today"]

    # Reconciling the same window again changes nothing.
    again = await stack.reconcile(since=report.zendesk.read_from)
    assert again.zendesk.repaired == 0
    await stack.settled(customer)
    assert len(await stack.texts_to(customer)) == 1


async def test_a_text_whose_webhook_was_dropped_is_ticketed_once(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.configure("twilio", drop_next=1)
    sent = await stack.http.post(
        stack.url("twilio", "/_sandbox/inbound"),
        json={"from": customer, "to": stack.settings.sms_numbers[0], "body": "Lost text"},
    )
    sid = sent.json()["sid"]
    await stack.http.post(stack.url("twilio", "/_sandbox/flush"))
    assert await stack.tickets_of(customer) == []

    report = await stack.reconcile()
    assert report.sms.texts == [sid]
    ticket = await first_ticket(stack, customer)
    assert any("Lost text" in c["body"] for c in ticket["comments"])

    again = await stack.reconcile(since=report.sms.read_from)
    assert again.sms.texts == []
    await stack.settled(customer)
    [only] = await stack.tickets_of(customer)
    assert sum("Lost text" in c["body"] for c in only["comments"]) == 1


async def test_a_picture_whose_webhook_was_dropped_is_attached_by_the_reconciler(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.configure("twilio", drop_next=1)
    sid = await stack.mms(customer, "Lost photo", [("image/gif", b"GIF89a lost")])
    await stack.http.post(stack.url("twilio", "/_sandbox/flush"))
    assert await stack.tickets_of(customer) == []

    report = await stack.reconcile()
    assert report.sms.texts == [sid]
    await first_ticket(stack, customer)
    await stack.settled(customer)
    [ticket] = await stack.tickets_of(customer)
    [comment] = ticket["comments"]
    assert comment["body"] == "Lost photo"
    assert [(a["file_name"], a["content_type"]) for a in comment["attachments"]] == [
        (f"{sid}-1.gif", "image/gif")
    ]


async def test_a_missed_status_change_and_opened_ticket_are_repaired(stack: Stack) -> None:
    customer = await stack.new_customer()
    await stack.configure("zendesk", drop_next=2)  # ticket.created and its first comment
    await stack.text(customer, "Hello")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.configure("zendesk", drop_next=1)  # the status change to solved
    await stack.set_status(ticket["id"], "solved")
    await stack.settled(customer)
    assert await _klaviyo_opened(stack, ticket["id"]) == []
    state = await stack.conversation(customer).query("state")
    assert state["state"]["ticket_status"] != "solved"

    report = await stack.reconcile()
    assert report.zendesk.status_changes == [ticket["id"]]
    assert report.zendesk.opened == [ticket["id"]]
    state = await stack.settled(customer)
    assert state["state"]["ticket_status"] == "solved"
    assert len(await eventually(lambda: _klaviyo_opened(stack, ticket["id"]))) == 1

    again = await stack.reconcile(since=report.zendesk.read_from)
    assert (again.zendesk.status_changes, again.zendesk.opened) == ([], [])


async def _comment(stack: Stack, ticket_id: int, body: str) -> dict[str, Any]:
    response = await stack.http.get(stack.url("zendesk", f"/_sandbox/tickets/{ticket_id}"))
    found = response.json()
    ticket = found.get("ticket", found)
    return next(c for c in ticket["comments"] if c["body"] == body)


async def _klaviyo_opened(stack: Stack, ticket_id: int) -> list[dict[str, Any]]:
    return await events(stack, ticket_id, Metric.OPENED)

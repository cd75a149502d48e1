"""Zendesk writes under the shared budgets (B14), as activities meet them: a write refused by
Update Ticket's limit, or that cannot get a slot in time, goes back to Temporal with the delay
to wait, and lands exactly once when retried."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.zendesk import (
    CustomerCommentInput,
    CustomerText,
    OpenTicketInput,
    TransitionInput,
    ZendeskActivities,
)
from clients.zendesk import ZendeskClient
from clients.zendesk_budget import Budget, SharedBudgets
from core.messages import TicketStatus
from sandbox.faults import FaultSpec
from sandbox.zendesk import create_zendesk_app

TOKEN = "test-token"


@dataclasses.dataclass
class Rig:
    app: FastAPI
    activities: ZendeskActivities
    requester_id: int
    ticket_id: int

    def bodies(self) -> list[str]:
        return [c.body for c in self.app.state.sandbox.data.tickets[self.ticket_id].comments]

    def puts(self) -> int:
        log = self.app.state.sandbox.request_log
        return sum(1 for r in log if r["method"] == "PUT")

    def audit_reads(self) -> int:
        log = self.app.state.sandbox.request_log
        return sum(1 for r in log if r["route"] == "/api/v2/tickets/{ticket_id}/audits")


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


def client_on(
    http: httpx.AsyncClient, engine: Engine, *, update: int, account: int = 100_000, **pace: float
) -> ZendeskClient:
    budgets = SharedBudgets(
        engine, per_minute={Budget.ACCOUNT: account, Budget.UPDATE: update}, **pace
    )
    return ZendeskClient(
        http, base_url="https://acme.zendesk.com", authorization=f"Bearer {TOKEN}", budgets=budgets
    )


async def make_rig(app: FastAPI, http: httpx.AsyncClient, engine: Engine, update: int) -> Rig:
    zendesk = client_on(http, engine, update=update)
    activities = ZendeskActivities(zendesk, engine)
    user = await zendesk.create_or_update_user(name="Ana", external_id="sms:+15551230001")
    opened = await attempt(1).run(
        activities.open_ticket,
        OpenTicketInput(
            conversation_id="sms-budget-test",
            sender_number="+15550100001",
            customer_phone="+15551230001",
            requester_id=user.id,
            texts=[CustomerText(message_sid="SM1", body="Where is my order?")],
            context_until=datetime(2026, 1, 1, tzinfo=UTC),
        ),
    )
    return Rig(app, activities, user.id, opened.ticket_id)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_zendesk_app(oauth_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http:
        yield app, http
    await app.state.sandbox.aclose()


def comment(rig: Rig, sid: str, body: str) -> CustomerCommentInput:
    return CustomerCommentInput(
        ticket_id=rig.ticket_id,
        requester_id=rig.requester_id,
        texts=[CustomerText(message_sid=sid, body=body)],
        reopen=False,
    )


async def test_a_write_refused_by_update_tickets_limit_lands_once_after_retry_after(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=100_000)
    app.state.sandbox.update_config(
        {"update_ticket_requests_per_minute": 3, "rate_limit_window_seconds": 2}
    )
    await attempt(1).run(rig.activities.add_customer_comment, comment(rig, "SM2", "Hello?"))
    for _ in range(2):  # agents spend the rest of the window, unseen by smsdesk
        saved = await http.put(
            f"https://acme.zendesk.com/api/v2/tickets/{rig.ticket_id}",
            json={"ticket": {"comment": {"body": "agent note", "public": False}}},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert saved.status_code == 200
    with pytest.raises(ApplicationError) as refused:
        await attempt(1).run(rig.activities.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert refused.value.type == "RateLimited" and not refused.value.non_retryable
    assert refused.value.next_retry_delay == timedelta(seconds=2)

    # Temporal's retry: the budget stays paused for Retry-After in the meantime, for every
    # process, so the retry's write waits for it rather than meeting a second 429.
    await attempt(2).run(rig.activities.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    public = [body for body in rig.bodies() if body != "agent note"]
    assert public == ["Where is my order?", "Hello?", "Anyone?"]
    statuses = [r["status"] for r in app.state.sandbox.request_log if r["method"] == "PUT"]
    assert statuses == [200, 200, 200, 429, 200]


async def test_a_write_with_no_slot_in_reach_goes_back_to_temporal_unsent(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=1)  # one update a minute
    await attempt(1).run(rig.activities.add_customer_comment, comment(rig, "SM2", "Hello?"))
    with pytest.raises(ApplicationError) as waiting:
        await attempt(1).run(rig.activities.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert waiting.value.type == "BudgetWait" and not waiting.value.non_retryable
    delay = waiting.value.next_retry_delay
    assert delay is not None and timedelta(seconds=45) < delay < timedelta(seconds=60)
    assert rig.puts() == 1  # the waiting write never left
    assert rig.bodies() == ["Where is my order?", "Hello?"]


async def test_a_retried_comment_with_no_slot_for_its_write_does_not_spend_one_on_its_check(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    """A retry checks the ticket's audits before it writes. When the account budget has a slot
    for the check but none for the write after it, the attempt must go back to Temporal
    before the check: otherwise each retry spends the binding budget on a read and never
    writes (a bench run read audits 6,580 times for 392 updates)."""
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=100_000)
    # The same budgets, now at 2 a minute: one slot now, the next 30 s on (past the lead).
    tight = client_on(http, engine, update=100_000, account=2)
    log = app.state.sandbox.request_log
    before = len(log)
    with pytest.raises(ApplicationError) as waiting:
        await attempt(2).run(
            ZendeskActivities(tight, engine).add_customer_comment, comment(rig, "SM2", "Hello?")
        )
    assert waiting.value.type == "BudgetWait" and not waiting.value.non_retryable
    assert len(log) == before  # neither the check nor the write was sent
    # And the slot the check would have had is still free: a lone read gets it at once.
    await tight.get_ticket(rig.ticket_id)
    assert len(log) == before + 1


async def test_a_timers_move_with_no_slot_for_its_update_does_not_spend_one_on_its_read(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    """Auto-close reads the ticket's status, then updates it. Each retry of a move whose
    update found no slot would read again, spending the binding account budget on reads."""
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=100_000)
    tight = ZendeskActivities(client_on(http, engine, update=100_000, account=2), engine)
    solve = TransitionInput(
        ticket_id=rig.ticket_id,
        when=[TicketStatus.NEW, TicketStatus.OPEN],
        to_status=TicketStatus.SOLVED,
    )
    log = app.state.sandbox.request_log
    before = len(log)
    with pytest.raises(ApplicationError) as waiting:
        await attempt(1).run(tight.transition_ticket, solve)
    assert waiting.value.type == "BudgetWait" and not waiting.value.non_retryable
    assert len(log) == before  # neither the read nor the update was sent

    # With room for both, the move is made.
    roomy = ZendeskActivities(client_on(http, engine, update=100_000), engine)
    moved = await attempt(2).run(roomy.transition_ticket, solve)
    assert moved.status == TicketStatus.SOLVED
    assert [r["method"] for r in list(log)[before:]] == ["GET", "PUT"]


async def test_a_retry_after_attempts_that_never_reached_zendesk_writes_without_a_check(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    """An attempt that found no budget slot sent nothing, so its retry has nothing to look
    for. The worker process remembers that; a retry on another process does not know it and
    checks, as every retry may."""
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=100_000)
    # One update every 3 s, taken at most 0.5 s ahead: the second write in a row must wait.
    slow = ZendeskActivities(client_on(http, engine, update=1, lead=0.5, window_seconds=3), engine)
    await attempt(1).run(slow.add_customer_comment, comment(rig, "SM2", "Hello?"))
    for number in (1, 2):
        with pytest.raises(ApplicationError) as waiting:
            await attempt(number).run(slow.add_customer_comment, comment(rig, "SM3", "Anyone?"))
        assert waiting.value.type == "BudgetWait"
    await asyncio.sleep(3.2)
    await attempt(3).run(slow.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert rig.audit_reads() == 0
    assert rig.bodies() == ["Where is my order?", "Hello?", "Anyone?"]

    # The same retry on a process that did not see the earlier attempts: it checks, finds the
    # comment written, and writes nothing.
    another = ZendeskActivities(client_on(http, engine, update=100_000), engine)
    await attempt(4).run(another.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert rig.audit_reads() == 1
    assert rig.bodies() == ["Where is my order?", "Hello?", "Anyone?"]


async def test_a_retry_after_an_attempt_that_may_have_written_checks_first(
    sandbox: tuple[FastAPI, httpx.AsyncClient], engine: Engine
) -> None:
    """An attempt that ended any other way (here: a 503, which may come after Zendesk wrote)
    may have written, and so may an attempt this process never saw: what it remembers of
    earlier unsent attempts then no longer counts."""
    app, http = sandbox
    rig = await make_rig(app, http, engine, update=100_000)
    slow = ZendeskActivities(client_on(http, engine, update=1, lead=0.5, window_seconds=3), engine)
    another = ZendeskActivities(client_on(http, engine, update=100_000), engine)
    await attempt(1).run(slow.add_customer_comment, comment(rig, "SM2", "Hello?"))
    with pytest.raises(ApplicationError):  # attempt 1: no slot, nothing sent
        await attempt(1).run(slow.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    app.state.sandbox.faults.arm(FaultSpec(status=503, path_contains=f"/{rig.ticket_id}"))
    with pytest.raises(ApplicationError):  # attempt 2, on another process: sent, answered 503
        await attempt(2).run(another.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert rig.audit_reads() == 1  # that process knew nothing of attempt 1
    await asyncio.sleep(3.2)
    app.state.sandbox.faults.arm(FaultSpec(status=503, path_contains=f"/{rig.ticket_id}"))
    with pytest.raises(ApplicationError):  # attempt 3, back here: sent, answered 503
        await attempt(3).run(slow.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert rig.audit_reads() == 2  # attempt 2 may have written: attempt 1's memory is stale
    await asyncio.sleep(3.2)
    await attempt(4).run(slow.add_customer_comment, comment(rig, "SM3", "Anyone?"))
    assert rig.audit_reads() == 3
    assert rig.bodies() == ["Where is my order?", "Hello?", "Anyone?"]

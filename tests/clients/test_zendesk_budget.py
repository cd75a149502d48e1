"""Zendesk's budgets held across processes (B5, B14): real SQLite and PostgreSQL, the sandbox
Zendesk over real HTTP on loopback, separate worker processes sharing the database.

Windows are shortened to a few seconds (Zendesk's are a minute) so the tests run quickly;
what is asserted is counts and order as the sandbox logged them, never speed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from clients.errors import BudgetWait, RateLimited
from clients.zendesk import ZendeskClient
from clients.zendesk_budget import Budget, SharedBudgets
from infra.db import make_engine
from sandbox import credentials
from sandbox.zendesk import create_zendesk_app
from tests.sandbox.helpers import serving

TOKEN = f"Bearer {credentials.ZENDESK_OAUTH_TOKEN}"
NOTE = {"comment": {"body": "budget test", "public": False}}


@pytest.fixture
async def zendesk_url() -> AsyncIterator[str]:
    app = create_zendesk_app()
    async with serving(app) as url:
        yield url
    await app.state.sandbox.aclose()


@pytest.fixture
async def control(zendesk_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=zendesk_url, headers={"Authorization": TOKEN}, timeout=30
    ) as client:
        yield client


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def budgets(engine: Engine, *, account: int = 100_000, update: int = 100_000, **kw: Any) -> Any:
    return SharedBudgets(engine, per_minute={Budget.ACCOUNT: account, Budget.UPDATE: update}, **kw)


async def new_tickets(control: httpx.AsyncClient, count: int) -> list[int]:
    made = [
        await control.post("/api/v2/tickets", json={"ticket": {"comment": {"body": "hi"}}})
        for _ in range(count)
    ]
    return [int(r.json()["ticket"]["id"]) for r in made]


async def request_log(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await control.get("/_sandbox/requests")).json()["requests"])


def busiest_window(times: list[float], seconds: float) -> int:
    """The most requests any rolling window of `seconds` holds (half-open, as Zendesk's)."""
    times = sorted(times)
    return max(
        (sum(1 for t in times if start <= t < start + seconds) for start in times), default=0
    )


@pytest.mark.slow  # 16 updates paced at 5 per 3 s, in two fresh processes: 15-25 s
async def test_the_update_budget_holds_across_two_worker_processes(
    any_engine: Engine, zendesk_url: str, control: httpx.AsyncClient
) -> None:
    window, zendesk_limit, budget = 3.0, 6, 5
    config = {
        "update_ticket_requests_per_minute": zendesk_limit,
        "rate_limit_window_seconds": window,
    }
    await control.post("/_sandbox/config", json=config)
    tickets = await new_tickets(control, 4)
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.helpers.budget_writer",
            zendesk_url,
            url_of(any_engine),
            str(budget),
            str(window),
            *map(str, tickets * 2),
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await writer.communicate() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0]
    assert [out.decode().strip() for out, _ in outputs] == ["8", "8"]

    updates = [r for r in await request_log(control) if r["method"] == "PUT"]
    assert [r["status"] for r in updates] == [200] * 16  # no 429, every update landed once
    # Never more than smsdesk's budget in any window (less 0.1 s: arrivals jitter a little).
    assert busiest_window([r["at"] for r in updates], window - 0.1) <= budget
    ticket = (await control.get(f"/_sandbox/tickets/{tickets[0]}")).json()["ticket"]
    assert len(ticket["comments"]) == 1 + 4


async def test_a_429_pauses_every_client_of_the_budget_for_retry_after(
    any_engine: Engine, control: httpx.AsyncClient, zendesk_url: str
) -> None:
    """A spike: Zendesk refuses below its limits (no rate-limit headers), with Retry-After."""
    other_engine = make_engine(url_of(any_engine))  # another process's pool
    await control.post(
        "/_sandbox/faults", json={"status": 429, "retry_after": 2, "path_contains": "/users/me"}
    )
    async with httpx.AsyncClient() as http_a, httpx.AsyncClient() as http_b:
        first = ZendeskClient(
            http_a, base_url=zendesk_url, authorization=TOKEN, budgets=budgets(any_engine)
        )
        second = ZendeskClient(
            http_b, base_url=zendesk_url, authorization=TOKEN, budgets=budgets(other_engine)
        )
        with pytest.raises(RateLimited):
            await first.me()
        await asyncio.gather(second.me(), second.get_ticket((await new_tickets(control, 1))[0]))
    other_engine.dispose()

    log = [r for r in await request_log(control) if r["route"] != "/api/v2/tickets"]
    [refused] = [r for r in log if r["status"] == 429]
    after = [r for r in log if r["status"] == 200]
    assert len(after) == 2
    # Neither of the other client's requests reached Zendesk before Retry-After had passed.
    assert min(r["at"] for r in after) >= refused["at"] + 2 - 0.05


async def test_headers_showing_others_spending_the_window_slow_smsdesk(
    any_engine: Engine, control: httpx.AsyncClient, zendesk_url: str
) -> None:
    config = {"requests_per_minute": 10, "rate_limit_window_seconds": 3}
    [ticket] = await new_tickets(control, 1)
    await control.post("/_sandbox/config", json=config)
    for _ in range(9):  # agents and other integrations spend 9 of the account's 10
        assert (await control.get(f"/api/v2/tickets/{ticket}")).status_code == 200

    async with httpx.AsyncClient() as http:
        zendesk = ZendeskClient(
            http,
            base_url=zendesk_url,
            authorization=TOKEN,
            budgets=budgets(any_engine, account=10, window_seconds=3.0),
        )
        for _ in range(4):
            await zendesk.get_ticket(ticket)

    log = await request_log(control)
    ours = log[-4:]
    assert [r["status"] for r in log] == [201] + [200] * 13  # not one 429
    # The window's last request went to smsdesk's first read; its second waited until the
    # others' requests had left the window instead of being refused.
    others = log[1:10]
    assert ours[1]["at"] >= min(r["at"] for r in others) + 3 - 0.05


async def test_one_tickets_own_limit_pauses_only_that_ticket(
    any_engine: Engine, control: httpx.AsyncClient, zendesk_url: str
) -> None:
    await control.post("/_sandbox/config", json={"ticket_update_limit": 1})
    hot, other = await new_tickets(control, 2)
    async with httpx.AsyncClient() as http:
        zendesk = ZendeskClient(
            http, base_url=zendesk_url, authorization=TOKEN, budgets=budgets(any_engine)
        )
        await zendesk.update_ticket(hot, NOTE)
        with pytest.raises(RateLimited) as refused:
            await zendesk.update_ticket(hot, NOTE)
        assert refused.value.retry_after == 600
        await zendesk.update_ticket(other, NOTE)  # not held for ten minutes
    statuses = [r["status"] for r in await request_log(control)]
    assert statuses == [201, 201, 200, 429, 200]


async def test_a_write_that_cannot_wait_for_its_slot_is_not_sent(
    any_engine: Engine, control: httpx.AsyncClient, zendesk_url: str
) -> None:
    """The activity goes back to Temporal (BudgetWait) instead of sleeping past its timeout;
    nothing reached Zendesk, so its retry cannot double the write."""
    [ticket] = await new_tickets(control, 1)
    async with httpx.AsyncClient() as http:
        zendesk = ZendeskClient(
            http,
            base_url=zendesk_url,
            authorization=TOKEN,
            budgets=budgets(any_engine, update=2, window_seconds=60.0, lead=1.0),
        )
        await zendesk.update_ticket(ticket, NOTE)  # the burst's one request, then 1 a minute
        with pytest.raises(BudgetWait) as waiting:
            await zendesk.update_ticket(ticket, NOTE)
    assert 25 < waiting.value.retry_after < 65
    puts = [r for r in await request_log(control) if r["method"] == "PUT"]
    assert len(puts) == 1

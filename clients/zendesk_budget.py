"""Zendesk's request budgets as smsdesk keeps them (B5, B14).

Every request spends the account's budget (ZENDESK_REQUESTS_PER_MINUTE); Update Ticket and
Update Many also spend the update budget (ZENDESK_UPDATE_REQUESTS_PER_MINUTE), smsdesk's share
of the 100 a minute Zendesk allows the account on that endpoint, agents' saves included.

`ZendeskClient` asks its `Budgets` before each request (`reserve`, `wait_for`) and tells it
each answer (`settle`). `SharedBudgets` keeps them in the product database, so every worker
process draws from the same budgets:

- reserve: the request takes the next slot of each budget it spends, and `wait_for` sleeps
  until it. Slots are spaced so that no rolling minute holds more than the budget, a small
  burst (`BURST_SHARE`) included. A slot further off than `lead` is not taken, and the slots
  the reservation already took are given back: `BudgetWait` sends the activity back to
  Temporal, so no attempt sleeps past its timeout and no slot is spent on a request not sent.
  Requests that only make sense together (a retried write's check and the write) reserve
  their slots at once, `ZendeskClient.read_then_update`.
- settle: a 429 pauses the budget Zendesk says is spent (its headers show 0 remaining), or the
  whole account, for at most a window, when Zendesk refused below its limits (a spike); every
  process honours the pause. A 429 on an update whose windows have room, or that asks for a
  wait longer than any window, is that ticket's own limit (30 per 10 minutes): only that
  write waits, through its activity's retry.
  Headers showing the window nearly spent (others are spending the account) pause the budget
  until the window frees.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx
from sqlalchemy import Engine

from clients.errors import BudgetWait
from core.telemetry import ZENDESK_BUDGET_PAUSES, ZENDESK_BUDGET_WAITS
from infra import budget_store

log = logging.getLogger("smsdesk.zendesk.budget")

#: Zendesk counts requests when they arrive, smsdesk when it sends them; this much slack per
#: slot keeps a request that left late and the next that left on time in separate windows.
ARRIVAL_SLACK = 1.01
#: A window with no more than this share left counts as spent: agents and other integrations
#: use the account too, so smsdesk waits for the window to free rather than meet a 429.
RESERVE_SHARE = 0.05
#: A 429 without Retry-After (Zendesk always sends one) pauses this long.
RETRY_AFTER_UNSAID = 5.0

#: Requests that may go at once after a quiet spell, as a share of the budget: a few texts
#: landing together are not spaced out, and the steady rate keeps the rest of the budget.
BURST_SHARE = 0.05

#: Matched at the end of the path: a base URL may carry a prefix (a proxy, a regional host).
_UPDATE_TICKET = re.compile(r"/api/v2/tickets/(?:\d+|update_many)(?:\.json)?$")


class Budget(StrEnum):
    ACCOUNT = "account"
    UPDATE = "update"


def budgets_for(method: str, path: str) -> tuple[Budget, ...]:
    """The budgets a request spends, scarcest first (it is taken first: a slot of the scarce
    budget is never held while waiting for the plentiful one)."""
    if method.upper() == "PUT" and _UPDATE_TICKET.search(path) is not None:
        return (Budget.UPDATE, Budget.ACCOUNT)
    return (Budget.ACCOUNT,)


def burst_for(limit: int) -> int:
    return max(1, math.floor(limit * BURST_SHARE))


@dataclass(frozen=True)
class Window:
    """One of Zendesk's rate-limit windows as a response described it."""

    limit: int
    remaining: int
    reset: float | None = None


def windows(headers: httpx.Headers, budgets: Sequence[Budget]) -> dict[Budget, Window]:
    """What the headers say of each budget's window: `X-Rate-Limit(-Remaining)` is the
    account's; `ratelimit-*` (Ticketing endpoints) is Update Ticket's own on an update and the
    account's elsewhere."""
    found: dict[Budget, Window] = {}
    account = _window(headers.get("x-rate-limit"), headers.get("x-rate-limit-remaining"), None)
    endpoint = _window(
        headers.get("ratelimit-limit"),
        headers.get("ratelimit-remaining"),
        headers.get("ratelimit-reset"),
    )
    if account is not None:
        found[Budget.ACCOUNT] = account
    if endpoint is not None:
        if Budget.UPDATE in budgets:
            found[Budget.UPDATE] = endpoint
        else:  # the same account window, with its reset
            found[Budget.ACCOUNT] = endpoint
    return found


def _window(limit: str | None, remaining: str | None, reset: str | None) -> Window | None:
    try:
        return Window(
            limit=int(limit or ""),
            remaining=int(remaining or ""),
            reset=float(reset) if reset is not None else None,
        )
    except ValueError:
        return None


def pauses(
    budgets: Sequence[Budget],
    seen: Mapping[Budget, Window],
    *,
    refused_for: float | None,
    window_seconds: float = 60.0,
) -> dict[tuple[Budget, str], float]:
    """How long to pause which budget, and why, after an answer.

    Args:
        budgets: the budgets the request spent.
        seen: the windows its headers described.
        refused_for: a 429's Retry-After in seconds, None when it was not a 429.
        window_seconds: the length of Zendesk's windows (a minute).
    """
    decided: dict[tuple[Budget, str], float] = {}
    for budget, window in seen.items():
        reserve = max(1, math.ceil(window.limit * RESERVE_SHARE))
        if window.remaining <= reserve:
            # Until the window frees: its reset when said, else the time that many requests
            # take to age out of a rolling window used evenly.
            frees = window_seconds * (reserve + 1 - window.remaining) / window.limit
            decided[(budget, "headers")] = window.reset if window.reset is not None else frees
    if refused_for is None:
        return decided
    spent = [budget for budget, window in seen.items() if window.remaining == 0]
    if spent:
        for budget in spent:
            decided[(budget, "429")] = refused_for
        return decided
    # Only a ticket's own limit (30 per 10 minutes) sends a wait longer than a window.
    if Budget.UPDATE in budgets and (seen or refused_for > window_seconds):
        return decided  # the ticket's own limit: the account's windows have room
    decided[(Budget.ACCOUNT, "429")] = min(refused_for, window_seconds)  # a spike
    return decided


@dataclass(frozen=True)
class Slot:
    """A request's turn: the budgets it spends, and when it may go, on the database's clock
    (`at`, for pauses) and on this process's (`due`, `time.monotonic()`, for sleeping)."""

    budgets: tuple[Budget, ...]
    at: float = 0.0
    due: float = 0.0


class Budgets(Protocol):
    """What `ZendeskClient` asks before each request and tells after each answer."""

    async def reserve(self, requests: Sequence[Sequence[Budget]]) -> list[Slot]:
        """Take the slots of these requests, to be sent in this order: all of them, or none
        and `BudgetWait` when one is not within an attempt's reach."""
        ...

    async def wait_for(self, slot: Slot) -> None:
        """Return when the slot's request may go."""
        ...

    async def settle(
        self, budgets: Sequence[Budget], headers: httpx.Headers, *, refused_for: float | None
    ) -> None:
        """Learn from an answer: its headers, and a 429's Retry-After (`refused_for`)."""
        ...


class Unmetered:
    """No budget: one-off commands and tests of other things."""

    async def reserve(self, requests: Sequence[Sequence[Budget]]) -> list[Slot]:
        return [Slot(tuple(budgets)) for budgets in requests]

    async def wait_for(self, slot: Slot) -> None:
        return None

    async def settle(
        self, budgets: Sequence[Budget], headers: httpx.Headers, *, refused_for: float | None
    ) -> None:
        return None


#: How long an activity's request sleeps for its slot before it gives the slot back to
#: Temporal (`BudgetWait`, retried later) rather than hold a worker slot.
ACTIVITY_LEAD_SECONDS = 8.0


class SharedBudgets:
    """The budgets every process shares, kept in the product database (`ZendeskBudget`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        per_minute: Mapping[Budget, int],
        lead: float = ACTIVITY_LEAD_SECONDS,
        window_seconds: float = 60.0,
    ) -> None:
        """
        Args:
            engine: the product database.
            per_minute: each budget's requests per window.
            lead: the furthest ahead a slot is taken; one attempt (30 s) sleeps at most this
                long for its slots, then waits for its answers (`HTTP_TIMEOUT_SECONDS`).
            window_seconds: the window the budgets count over (Zendesk: a minute; tests
                shorten it).
        """
        self._engine = engine
        self._per_minute = dict(per_minute)
        self._lead = lead
        self._window = window_seconds

    async def reserve(self, requests: Sequence[Sequence[Budget]]) -> list[Slot]:
        takes = [self._take(budget) for budgets in requests for budget in budgets]
        if not takes:
            return [Slot(()) for _ in requests]
        taken = await asyncio.to_thread(budget_store.reserve, self._engine, takes, lead=self._lead)
        if isinstance(taken, budget_store.Blocked):
            ZENDESK_BUDGET_WAITS.labels(taken.name).inc()
            # Back when the slots come within reach, spread so that waiters do not all come
            # back at once.
            ahead = max(0.0, taken.free_at - taken.now - self._lead)
            raise BudgetWait("zendesk", taken.name, ahead + random.uniform(0.5, 2.0))
        local_now = time.monotonic()
        slots: list[Slot] = []
        reservations = iter(taken)
        for budgets in requests:
            # A request goes at the last of its budgets' slots (each is no earlier than the one
            # before it); a request that spends no budget goes at once.
            last = None
            for _ in budgets:
                last = next(reservations)
            if last is None:
                slots.append(Slot(()))
            else:
                due = local_now + last.slot - last.now
                slots.append(Slot(tuple(budgets), at=last.slot, due=due))
        return slots

    async def wait_for(self, slot: Slot) -> None:
        while (wait := slot.due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
            # A pause made while this slot waited voids it: take a slot after the pause.
            for budget in slot.budgets:
                until, _ = await asyncio.to_thread(
                    budget_store.paused_until, self._engine, name=budget.value
                )
                if until > slot.at:
                    [slot] = await self.reserve([slot.budgets])
                    break

    async def settle(
        self, budgets: Sequence[Budget], headers: httpx.Headers, *, refused_for: float | None
    ) -> None:
        if refused_for is not None and refused_for <= 0:
            refused_for = RETRY_AFTER_UNSAID
        decided = pauses(
            budgets,
            windows(headers, budgets),
            refused_for=refused_for,
            window_seconds=self._window,
        )
        for (budget, reason), seconds in decided.items():
            if seconds <= 0:
                continue
            ZENDESK_BUDGET_PAUSES.labels(budget.value, reason).inc()
            log.info("Zendesk %s budget paused %.1f s (%s)", budget.value, seconds, reason)
            await asyncio.to_thread(
                budget_store.pause, self._engine, name=budget.value, seconds=seconds
            )

    def _take(self, budget: Budget) -> budget_store.Take:
        limit = self._per_minute[budget]
        burst = burst_for(limit)
        # Any window then holds at most `burst` at once plus one per interval: the limit.
        interval = self._window / (limit - burst + 1) * ARRIVAL_SLACK
        return budget_store.Take(budget.value, interval=interval, tolerance=(burst - 1) * interval)

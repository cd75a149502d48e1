"""A Zendesk that answers from a script, through `httpx.MockTransport`: each request gets the
next answer (a response, or a transport error raised as httpx would) and is kept for the test
to read back. Plus the two seams of `ZendeskClient` as small recording fakes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from clients.zendesk import Authorization, ZendeskClient
from clients.zendesk_budget import Budget, Budgets, Slot

BASE = "https://acme.zendesk.com"
BEARER = "Bearer tok-1"

Answer = httpx.Response | type[httpx.TransportError]


def ok(
    body: dict[str, Any], status: int = 200, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error(
    status: int, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body or {"error": "RecordInvalid"}, headers=headers)


@dataclass
class Script:
    answers: list[Answer]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer("no answer", request=request)
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@dataclass
class RecordingBudgets:
    """`Budgets` that never wait and remember what they were asked and told."""

    reserved: list[list[tuple[Budget, ...]]] = field(default_factory=list)
    acquired: list[tuple[Budget, ...]] = field(default_factory=list)
    settled: list[tuple[tuple[Budget, ...], httpx.Headers, float | None]] = field(
        default_factory=list
    )

    async def reserve(self, requests: Sequence[Sequence[Budget]]) -> list[Slot]:
        self.reserved.append([tuple(budgets) for budgets in requests])
        return [Slot(tuple(budgets)) for budgets in requests]

    async def wait_for(self, slot: Slot) -> None:
        self.acquired.append(slot.budgets)

    async def settle(
        self, budgets: Sequence[Budget], headers: httpx.Headers, *, refused_for: float | None
    ) -> None:
        self.settled.append((tuple(budgets), headers, refused_for))


@dataclass
class RenewingAuthorization:
    """An OAuth token that a 401 renews (as `clients.zendesk_oauth` does), `fresh` at a time."""

    current: str = BEARER
    fresh: list[str] = field(default_factory=list)
    renewed_from: list[str] = field(default_factory=list)

    async def header(self) -> str:
        return self.current

    async def renew(self, stale: str) -> str | None:
        self.renewed_from.append(stale)
        if not self.fresh:
            return None
        self.current = self.fresh.pop(0)
        return self.current


@contextlib.asynccontextmanager
async def scripted_zendesk(
    *answers: Answer,
    authorization: str | Authorization = BEARER,
    budgets: Budgets | None = None,
    base_url: str = BASE,
) -> AsyncIterator[tuple[ZendeskClient, Script]]:
    script = Script(list(answers))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        client = ZendeskClient(
            http, base_url=base_url, authorization=authorization, budgets=budgets
        )
        yield client, script
    assert script.answers == [], "the script holds answers no request asked for"

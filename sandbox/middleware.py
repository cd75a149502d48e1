"""The gate in front of every real API route: count, inject faults, authenticate, check the body.

It runs in that order because that is what the product meets in production: a rate limit or
an outage answers before credentials are even looked at, and a body is only judged once the
caller is known. `/_sandbox/*` control routes skip the gate, so tests can always reach them,
even while faults are armed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.specs import OpenApiSpec, SpecName, load_spec
from sandbox.state import SandboxState

CONTROL_PREFIX = "/_sandbox"


@dataclass(frozen=True)
class ApiSurface:
    """How one service looks from outside.

    Attributes:
        spec: which official OpenAPI file describes it.
        admit: the refusal of a request the service turns away before reading it (bad
            credentials, a missing header, an account rate limit), or None to let it in.
        error: the service's own error response for a status and a message.
        headers: headers the service adds to every answer of a request it let through its
            gate or refused there (Zendesk's rate-limit headers), not to injected faults.
    """

    spec: SpecName
    admit: Callable[[Request], Response | None]
    error: Callable[[int, str], Response]
    headers: Callable[[Request], dict[str, str]] = lambda _: {}


class SandboxMiddleware:
    """Pure ASGI middleware (it must read the body once and hand it on unchanged)."""

    def __init__(self, app: ASGIApp, *, state: SandboxState[Any], surface: ApiSurface) -> None:
        self.app = app
        self.state = state
        self.surface = surface
        self._spec: OpenApiSpec | None = None  # parsed at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        route = _route_template(scope)
        self.state.requests[f"{request.method} {route}"] += 1
        arrived = self.state.clock()
        fault = await self._fault(request.url.path)
        response = fault or self.surface.admit(request)
        extra = {} if fault is not None else self.surface.headers(request)
        send = self._logging(send, request, route, arrived, extra)
        if response is None:
            body = await _read_body(receive)
            if body is None:
                return  # the client went away mid-body (a killed worker): nothing to judge
            problem = await self._spec_problem(request, body)
            if problem is None:
                await self.app(scope, _replay(body, receive), send)
                return
            self.state.record_violation(request.method, request.url.path, problem)
            response = self.surface.error(400, problem)
        await response(scope, receive, send)

    def _logging(
        self, send: Send, request: Request, route: str, arrived: float, extra: dict[str, str]
    ) -> Send:
        """`send`, adding `extra` headers to the answer and logging it with its status."""
        added = [(name.lower().encode(), value.encode()) for name, value in extra.items()]

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *added]}
                self.state.log_request(
                    arrived, request.method, route, request.url.path, message["status"]
                )
            await send(message)

        return logged

    async def _fault(self, path: str) -> Response | None:
        fault = self.state.faults.take(path, self.state.rng)
        if fault is None:
            return None
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.status is None:
            return None
        response = self.surface.error(fault.status, f"Injected fault: HTTP {fault.status}")
        if fault.status == 429:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    async def _spec_problem(self, request: Request, body: bytes) -> str | None:
        if self._spec is None:
            # The first parse takes a moment (the Zendesk file is 1.6 MB of YAML): off the loop.
            self._spec = await asyncio.to_thread(load_spec, self.surface.spec)
        content_type = request.headers.get("content-type", "")
        return self._spec.request_problem(request.method, request.url.path, content_type, body)


def _route_template(scope: Scope) -> str:
    """The route's path template (`/api/v2/tickets/{ticket_id}`), so counts group by route.

    Only routes added to the app itself are seen (the services add their API routes so).
    """
    for route in scope["app"].router.routes:
        if isinstance(route, Route) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return str(scope["path"])


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending it all."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the already-read body, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

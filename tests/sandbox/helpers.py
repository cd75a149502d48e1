"""Test helpers for the sandbox: a webhook receiver, loopback serving, spec conformance."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request, Response

from sandbox.specs import SpecName, load_spec


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Receiver:
    """Plays the product's webhook endpoints: records every request, and answers with the
    statuses queued in `answers` first (to make the sandbox retry), then 200; the first
    answers wait the seconds queued in `stalls` (to make the sandbox time out)."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.received: list[Received] = []
        self.answers: list[int] = []
        self.stalls: list[float] = []

        @self.app.post("/{path:path}")
        async def receive(request: Request) -> Response:
            self.received.append(
                Received(str(request.url), dict(request.headers), await request.body())
            )
            if self.stalls:
                await asyncio.sleep(self.stalls.pop(0))
            return Response(status_code=self.answers.pop(0) if self.answers else 200)

    def events(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Run an app with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def spec_of(name: SpecName) -> Any:
    """The vendor's spec; a missing file fails the test (SpecMissing), it never skips it."""
    return load_spec(name)


def assert_conforms(
    name: SpecName, method: str, path: str, status: int, body: Any, media: str = "application/json"
) -> None:
    """Fail unless `body` matches the spec's response schema for this operation and status."""
    spec = spec_of(name)
    template = spec.find_operation(method, path)
    assert template is not None, f"{method} {path} is not in the {name} spec"
    escaped = template.replace("~", "~0").replace("/", "~1")
    media_escaped = media.replace("/", "~1")
    pointer = f"/paths/{escaped}/{method.lower()}/responses/{status}/content/{media_escaped}/schema"
    errors = [
        f"{e.message} at {e.json_path}"
        for e in spec.validator(pointer, request=False).iter_errors(body)
    ]
    assert errors == [], errors

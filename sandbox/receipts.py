"""An optional receipt log for a sandbox service: when each write carrying a given id arrived.

Benchmarks measure "webhook accepted -> written to Zendesk" per text. Zendesk's `created_at`
has one-second resolution and the bench cannot see inside the service, so this wrapper notes,
with the machine-wide monotonic clock (`time.monotonic()`, CLOCK_MONOTONIC, comparable across
processes on one machine), the first successful write whose body names each id (a text's
MessageSid is in every comment smsdesk writes for it), and counts every API answer by status
(429s included). It is an ASGI wrapper around a finished app, so the service itself is unchanged:

    app = ReceiptLog(create_zendesk_app(...))

It also counts the successful writes that name each id, so a text written twice (a duplicate
comment) shows.

`GET /_sandbox/receipts` answers `{"receipts": {id: t}, "repeated": {id: writes},
"statuses": {"201": n}}` (`repeated`: the ids more than one write named), plus
`"answers": [[t, status], ...]` (every API answer, in order) with `?answers=1`;
`DELETE /_sandbox/receipts` forgets all of it.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Twilio message sids: "SM" and 32 hex digits.
MESSAGE_SID = re.compile(rb"SM[0-9a-fA-F]{32}")
RECEIPTS_PATH = "/_sandbox/receipts"


class ReceiptLog:
    def __init__(
        self,
        app: ASGIApp,
        *,
        pattern: re.Pattern[bytes] = MESSAGE_SID,
        write_methods: tuple[str, ...] = ("POST", "PUT"),
        api_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.pattern = pattern
        self.write_methods = write_methods
        self.api_prefix = api_prefix
        self.receipts: dict[str, float] = {}
        self.writes: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.answers: list[tuple[float, int]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == RECEIPTS_PATH:
            await self._control(scope, send)
            return
        if not path.startswith(self.api_prefix):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status = 0
        answered_at = 0.0

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def answering(message: Message) -> None:
            nonlocal status, answered_at
            if message["type"] == "http.response.start":
                status, answered_at = int(message["status"]), time.monotonic()
            await send(message)

        await self.app(scope, reading, answering)
        self.statuses[status] += 1
        self.answers.append((answered_at, status))
        if scope["method"] in self.write_methods and 200 <= status < 300:
            # Once per write, however often its body names the id.
            for found in {match.decode() for match in self.pattern.findall(bytes(body))}:
                self.receipts.setdefault(found, answered_at)
                self.writes[found] += 1

    async def _control(self, scope: Scope, send: Send) -> None:
        if scope["method"] == "DELETE":
            self.receipts.clear()
            self.writes.clear()
            self.statuses.clear()
            self.answers.clear()
        payload: dict[str, object] = {
            "clock": "monotonic",
            "receipts": self.receipts,
            "repeated": {found: count for found, count in self.writes.items() if count > 1},
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
        }
        if b"answers=1" in scope.get("query_string", b""):
            payload["answers"] = self.answers
        content = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

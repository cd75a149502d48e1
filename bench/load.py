"""Open-loop load: signed inbound-text webhooks sent at a fixed offered rate.

Every request is built and signed before the clock starts, so the generator does little more
than write bytes while measuring. The requests go out through aiohttp, not httpx: httpcore's
pool looks at every open connection for every request, and at a storm's 200 texts/s over 256
connections that took the generator ~60% of a core (py-spy, `--mode storm`), so the answers
waited in the generator itself and the "webhook answer" it reported (p50 16 s) was its own
queue, not the webhooks'. Sends are scheduled at `start + i / rate` whatever the answers
do (open loop: a slow server does not slow the offer down, it builds a backlog); only
`max_in_flight` bounds the open requests, and `late` counts sends that started more than 50 ms
behind schedule, so a generator that could not keep up is visible in the results.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from webhooks.signatures import twilio_signature
from webhooks.sms import INTAKE_HEADER


@dataclass(frozen=True)
class Text:
    """One prepared inbound-text webhook."""

    sid: str
    customer: str
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Outcome:
    text: Text
    sent_at: float
    answered_at: float | None = None
    status: int | None = None
    #: How the product made the text durable (its `X-Smsdesk-Intake` answer header).
    intake: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 200


@dataclass
class LoadResult:
    outcomes: list[Outcome]
    started: float
    finished_sending: float
    late: int

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.accepted]


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def prepare_text(
    *, url: str, signing_url: str, auth_token: str, customer: str, to: str, words: str
) -> Text:
    """A Twilio-style form, signed for `signing_url` (the URL the product believes it serves),
    posted to `url`. The sid is in the body too, so every comment names every text it holds."""
    sid = new_sid()
    form = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": customer,
        "To": to,
        "Body": f"{words} ({sid})",
        "NumMedia": "0",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(auth_token, signing_url, form),
    }
    return Text(sid=sid, customer=customer, url=url, body=urlencode(form).encode(), headers=headers)


async def _send(http: aiohttp.ClientSession, outcome: Outcome, gate: asyncio.Semaphore) -> None:
    async with gate:
        try:
            async with http.post(
                outcome.text.url, data=outcome.text.body, headers=outcome.text.headers
            ) as response:
                await response.read()
                outcome.status = response.status
                outcome.intake = response.headers.get(INTAKE_HEADER)
        except (aiohttp.ClientError, TimeoutError):
            outcome.status = None
        outcome.answered_at = time.monotonic()


async def offer(
    texts: Sequence[Text],
    *,
    rate: float,
    max_in_flight: int = 256,
    timeout: float = 120.0,
    outcomes: list[Outcome] | None = None,
) -> LoadResult:
    """Send `texts` at `rate` per second; returns once every request has been answered.

    Each send's outcome is appended to `outcomes` as it starts, when given, so that an observer
    can follow the answers while the load is still being offered. A request with no answer
    within `timeout` seconds counts as not accepted (status None)."""
    gate = asyncio.Semaphore(max_in_flight)
    tasks: list[asyncio.Task[None]] = []
    outcomes = [] if outcomes is None else outcomes
    late = 0
    # uvicorn closes a keep-alive connection idle for 5 s; forgetting it sooner means a request
    # is never written to a connection the server is closing.
    connector = aiohttp.TCPConnector(limit=max_in_flight, keepalive_timeout=2.0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as http:
        started = time.monotonic()
        for index, text in enumerate(texts):
            due = started + index / rate
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            elif pause < -0.05:
                late += 1
            outcome = Outcome(text=text, sent_at=time.monotonic())
            outcomes.append(outcome)
            tasks.append(asyncio.create_task(_send(http, outcome, gate)))
        finished_sending = time.monotonic()
        await asyncio.gather(*tasks)
    return LoadResult(outcomes, started, finished_sending, late)

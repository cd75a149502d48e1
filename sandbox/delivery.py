"""Outgoing webhooks from the sandbox to the product, delivered the way the real services do.

Each service retries by its own rules (SPEC.md, "Delivery facts"), and the product has to live
with both:
- Twilio allows 15 s for a whole delivery and retries once, only when no connection was made
  (`#rc=1&rp=ct`). An answer of any status (4xx, 5xx, 429) or a timeout once connected is final:
  the webhook is logged with Twilio's error code and never sent again.
- Zendesk allows about 10 s per attempt and retries a few times, with backoff, on connection
  failures, timeouts, 409, 429 and 5xx; then it gives up.
With `duplicate_probability` the sandbox also delivers some webhooks twice, and with `drop_next`
it loses the next few outright (fault drills). Deliveries that share a key (one ticket, one
message) go out in order, as a service's stream of events about one object does; different keys
go out concurrently.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["pending", "delivered", "rejected", "failed", "disabled", "dropped", "cancelled"]
Failure = Literal["status", "connect", "timeout", "transport"]
"""How an attempt went wrong: an HTTP error status, no connection made (nothing reached the
receiver), no answer in time, or the connection broke after the request went out."""

TWILIO_HTTP_ERROR = 11200
"""HTTP retrieval failure: the receiver answered a non-2xx status (or the exchange broke)."""
TWILIO_CONNECTION_FAILURE = 11205
"""HTTP connection failure: no TCP connection could be made (both attempts)."""
TWILIO_TIMEOUT = 11203
"""HTTP communication total time out: no answer within the 15 s budget (`tt`)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How one service delivers a webhook.

    Attributes:
        timeout: seconds one attempt may take, connection included.
        connect_timeout: seconds to establish the connection.
        total_timeout: seconds for all attempts together (None: no overall budget).
        retry_delays: the pause before each retry; their number is the number of retries.
        retry_on: the failures that are retried while retries are left.
        retry_statuses: the HTTP statuses that are retried, with 5xx if `retry_server_errors`.
        refusal: the outcome of a final status that is not retried (a bad signature, say).
        error_codes: the service's error code per failure, kept in the delivery record.
    """

    timeout: float
    connect_timeout: float
    total_timeout: float | None
    retry_delays: tuple[float, ...]
    retry_on: frozenset[Failure]
    retry_statuses: frozenset[int] = frozenset()
    retry_server_errors: bool = False
    refusal: Outcome = "rejected"
    error_codes: Mapping[Failure, int] = field(default_factory=dict)

    def retries_status(self, status: int) -> bool:
        return status in self.retry_statuses or (self.retry_server_errors and status >= 500)


TWILIO_POLICY = RetryPolicy(
    timeout=15.0,
    connect_timeout=5.0,
    total_timeout=15.0,
    retry_delays=(0.0,),
    retry_on=frozenset({"connect"}),
    refusal="failed",
    error_codes={
        "status": TWILIO_HTTP_ERROR,
        "transport": TWILIO_HTTP_ERROR,
        "connect": TWILIO_CONNECTION_FAILURE,
        "timeout": TWILIO_TIMEOUT,
    },
)
ZENDESK_POLICY = RetryPolicy(
    timeout=10.0,
    connect_timeout=10.0,
    total_timeout=None,
    retry_delays=(0.5, 1.0, 2.0),
    retry_on=frozenset({"status", "connect", "timeout", "transport"}),
    retry_statuses=frozenset({409, 429}),
    retry_server_errors=True,
)


class DeliveryConfig(BaseModel):
    """Webhook switches, changed at run time through `POST /_sandbox/config`.

    `drop_next` counts down as webhooks are dropped. `retry_delays` and `timeout_seconds`
    replace the service's own values when set (tests shorten them; Twilio accepts the same
    overrides as `rc`/`tt` in a webhook URL's fragment).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    webhooks_enabled: bool = True
    duplicate_probability: float = Field(default=0.0, ge=0, le=1)
    drop_next: int = Field(default=0, ge=0)
    retry_delays: list[float] | None = Field(default=None, max_length=5)
    timeout_seconds: float | None = Field(default=None, gt=0, le=60)


@dataclass
class Delivery:
    """One webhook delivery as the sandbox saw it (`GET /_sandbox/deliveries`).

    `rejected` means the receiver answered a final 4xx that the service does not retry (a bad
    signature, say); `failed` that the service gave up (for Twilio: any failed attempt), with
    the service's error code in `error_code` where it has one; `dropped` that the sandbox lost
    the webhook on purpose (`drop_next`).
    """

    id: int
    url: str
    label: str
    duplicate: bool
    attempts: int = 0
    status: int | None = None
    outcome: Outcome = "pending"
    error: str | None = None
    error_code: int | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


class WebhookDeliverer:
    """Posts webhooks in background tasks over one shared `httpx.AsyncClient`."""

    def __init__(
        self,
        config: DeliveryConfig,
        rng: random.Random,
        policy: RetryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._rng = rng
        self.policy = policy
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._next_id = 1
        self.records: deque[Delivery] = deque(maxlen=1000)

    def _record(self, url: str, label: str, *, duplicate: bool) -> Delivery:
        delivery = Delivery(self._next_id, url, label, duplicate=duplicate)
        self._next_id += 1
        self.records.append(delivery)
        return delivery

    def submit(
        self, *, url: str, content: bytes, headers: Mapping[str, str], label: str, key: str
    ) -> None:
        """Queue one webhook; it goes out after earlier webhooks with the same `key`."""
        if not self._config.webhooks_enabled:
            self._record(url, label, duplicate=False).outcome = "disabled"
            return
        if self._config.drop_next > 0:
            # Lost before the first attempt, as in a provider's delivery incident: no copy,
            # no retry, only the record.
            self._config.drop_next -= 1
            self._record(url, label, duplicate=False).outcome = "dropped"
            return
        copies = 2 if self._rng.random() < self._config.duplicate_probability else 1
        for copy in range(copies):
            delivery = self._record(url, label, duplicate=copy > 0)
            task = asyncio.create_task(
                self._deliver(delivery, content, dict(headers), after=self._tails.get(key))
            )
            self._pending.add(task)
            self._tails[key] = task
            task.add_done_callback(functools.partial(self._forget, key))

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]

    async def _deliver(
        self,
        delivery: Delivery,
        content: bytes,
        headers: dict[str, str],
        *,
        after: asyncio.Task[None] | None,
    ) -> None:
        policy = self.policy
        configured = self._config.timeout_seconds
        timeout = configured or policy.timeout
        # An override replaces Twilio's overall budget too; Zendesk has none to replace.
        total = None if policy.total_timeout is None else configured or policy.total_timeout
        given_delays = self._config.retry_delays
        delays = policy.retry_delays if given_delays is None else tuple(given_delays)
        try:
            if after is not None:
                await asyncio.wait([after])
            try:
                async with asyncio.timeout(total):
                    await self._attempts(delivery, content, headers, timeout, delays)
            except TimeoutError:
                # The overall budget ran out mid-attempt or mid-pause.
                self._failed(delivery, "timeout", "the delivery's total time ran out")
        except asyncio.CancelledError:
            delivery.outcome = "cancelled"
            raise

    async def _attempts(
        self,
        delivery: Delivery,
        content: bytes,
        headers: dict[str, str],
        timeout: float,
        delays: tuple[float, ...],
    ) -> None:
        policy = self.policy
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport)
        limits = httpx.Timeout(timeout, connect=min(policy.connect_timeout, timeout))
        retries_left = list(delays)
        while True:
            delivery.attempts += 1
            failure: Failure
            try:
                # asyncio's timeout as well as httpx's: in-process (ASGI) transports ignore
                # httpx's timeouts.
                async with asyncio.timeout(timeout):
                    response = await self._client.post(
                        delivery.url, content=content, headers=headers, timeout=limits
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure, delivery.status, message = "connect", None, _describe(exc)
            except (httpx.TimeoutException, TimeoutError) as exc:
                failure, delivery.status, message = "timeout", None, _describe(exc)
            except httpx.TransportError as exc:
                failure, delivery.status, message = "transport", None, _describe(exc)
            else:
                delivery.status = response.status_code
                if response.is_success:
                    delivery.outcome, delivery.error, delivery.error_code = "delivered", None, None
                    return
                failure, message = "status", f"HTTP {response.status_code}"
                if not policy.retries_status(response.status_code):
                    self._failed(delivery, failure, message, outcome=policy.refusal)
                    return
            if failure not in policy.retry_on or not retries_left:
                self._failed(delivery, failure, message)
                return
            delivery.error = message
            await asyncio.sleep(retries_left.pop(0))

    def _failed(
        self, delivery: Delivery, failure: Failure, message: str, *, outcome: Outcome = "failed"
    ) -> None:
        delivery.outcome, delivery.error = outcome, message
        delivery.error_code = self.policy.error_codes.get(failure)

    async def idle(self) -> None:
        """Wait until every queued webhook was delivered or given up on."""
        while self._pending:
            await asyncio.wait(set(self._pending))

    async def cancel_pending(self) -> None:
        """Drop the deliveries still queued or retrying (on reset and shutdown)."""
        tasks = set(self._pending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.cancel_pending()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

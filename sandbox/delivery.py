"""Outgoing webhooks from the sandbox to the product, delivered the way the real services do.

Zendesk and Twilio post their webhooks in the background and retry while the receiver is
unreachable or answers 429/5xx, so the product sees late and repeated deliveries; with
`duplicate_probability` the sandbox also delivers some webhooks twice on purpose (fault drills).
Deliveries that share a key (one ticket, one message) go out in order, as a service's stream
of events about one object does; different keys go out concurrently.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
"""Pauses between the 5 attempts of one delivery."""

Outcome = Literal["pending", "delivered", "rejected", "failed", "disabled", "cancelled"]


class DeliveryConfig(BaseModel):
    """Webhook switches, changed at run time through `POST /_sandbox/config`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    webhooks_enabled: bool = True
    duplicate_probability: float = Field(default=0.0, ge=0, le=1)


@dataclass
class Delivery:
    """One webhook delivery as the sandbox saw it (`GET /_sandbox/deliveries`).

    `rejected` means the receiver answered a final 4xx (a bad signature, say): like the real
    services, the sandbox does not retry those.
    """

    id: int
    url: str
    label: str
    duplicate: bool
    attempts: int = 0
    status: int | None = None
    outcome: Outcome = "pending"
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


class WebhookDeliverer:
    """Posts webhooks in background tasks over one shared `httpx.AsyncClient`."""

    def __init__(
        self,
        config: DeliveryConfig,
        rng: random.Random,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._config = config
        self._rng = rng
        self._transport = transport
        self.retry_delays = tuple(retry_delays)
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._next_id = 1
        self.records: deque[Delivery] = deque(maxlen=1000)

    def submit(
        self, *, url: str, content: bytes, headers: Mapping[str, str], label: str, key: str
    ) -> None:
        """Queue one webhook; it goes out after earlier webhooks with the same `key`."""
        copies = 2 if self._rng.random() < self._config.duplicate_probability else 1
        for copy in range(copies):
            delivery = Delivery(self._next_id, url, label, duplicate=copy > 0)
            self._next_id += 1
            self.records.append(delivery)
            if not self._config.webhooks_enabled:
                delivery.outcome = "disabled"
                continue
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
        try:
            if after is not None:
                await asyncio.wait([after])
            if self._client is None:
                self._client = httpx.AsyncClient(transport=self._transport, timeout=10.0)
            for delay in (*self.retry_delays, None):
                delivery.attempts += 1
                try:
                    response = await self._client.post(
                        delivery.url, content=content, headers=headers
                    )
                except httpx.TransportError as exc:
                    delivery.status, delivery.error = None, f"{type(exc).__name__}: {exc}"
                else:
                    delivery.status, delivery.error = response.status_code, None
                    if response.status_code != 429 and response.status_code < 500:
                        delivery.outcome = "delivered" if response.is_success else "rejected"
                        return
                if delay is None:
                    break
                await asyncio.sleep(delay)
            delivery.outcome = "failed"
        except asyncio.CancelledError:
            delivery.outcome = "cancelled"
            raise

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

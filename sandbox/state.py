"""State of one sandbox service: its data, optionally kept in a JSON file, plus test hooks.

The embedded dev stack restarts often; keeping tickets, messages and profiles in a file lets a
developer's conversations survive a restart. Only the service's data is kept there: faults,
counters, spec violations and the delivery log belong to one process.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from sandbox.delivery import DeliveryConfig, RetryPolicy, WebhookDeliverer
from sandbox.faults import FaultBoard

DataT = TypeVar("DataT", bound=BaseModel)
ConfigT = TypeVar("ConfigT", bound=DeliveryConfig)
REQUEST_LOG_SIZE = 200_000
"""About an hour of Enterprise-plan traffic at full rate, a few tens of MB at most."""


class SandboxState(Generic[DataT]):
    """Data plus the hooks every service shares (faults, counters, spec violations).

    `clock` and `rng` are attributes so tests can move time forward or seed randomness.
    """

    def __init__(self, fresh: Callable[[], DataT], state_file: Path | None) -> None:
        self.clock: Callable[[], float] = time.time
        self.rng = random.Random()
        self.faults = FaultBoard()
        self.requests: Counter[str] = Counter()
        #: Every API request answered, oldest first (bounded), so that tests and benchmarks
        #: can count requests per rolling minute and endpoint as the service saw them.
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.spec_violations: list[dict[str, str]] = []
        self.state_file = state_file
        self._fresh = fresh
        self.data = fresh()
        if state_file is not None and state_file.exists():
            self.data = type(self.data).model_validate_json(state_file.read_bytes())

    def save(self) -> None:
        """Write the data to the state file (atomically), if there is one; call after changes."""
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_name(self.state_file.name + ".partial")
        partial.write_text(self.data.model_dump_json())
        os.replace(partial, self.state_file)

    def log_request(self, at: float, method: str, route: str, path: str, status: int) -> None:
        self.request_log.append(
            {"at": at, "method": method, "route": route, "path": path, "status": status}
        )

    def record_violation(self, method: str, path: str, message: str) -> None:
        self.spec_violations.append({"method": method, "path": path, "message": message})

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "faults_injected": dict(self.faults.injected),
            "spec_violations": len(self.spec_violations),
        }

    async def reset(self) -> None:
        """Back to the seeded data, with no faults, counts or recorded violations."""
        self.data = self._fresh()
        self.faults.reset()
        self.requests.clear()
        self.request_log.clear()
        self.spec_violations.clear()
        self.save()


class WebhookState(SandboxState[DataT], Generic[DataT, ConfigT]):
    """A service that also calls the product back with webhooks."""

    def __init__(
        self,
        fresh: Callable[[], DataT],
        state_file: Path | None,
        config: ConfigT,
        transport: httpx.AsyncBaseTransport | None,
        policy: RetryPolicy,
    ) -> None:
        super().__init__(fresh, state_file)
        self.config = config
        self._initial_config = config.model_copy()
        self.deliverer = WebhookDeliverer(config, self.rng, policy, transport=transport)

    async def deliveries_idle(self) -> None:
        """Wait until every webhook queued so far was delivered or given up on."""
        await self.deliverer.idle()

    def update_config(self, changes: dict[str, Any]) -> None:
        """Apply some settings at once, or none if any is invalid (pydantic ValidationError)."""
        checked = type(self.config).model_validate({**self.config.model_dump(), **changes})
        for name in changes:
            setattr(self.config, name, getattr(checked, name))

    async def reset(self) -> None:
        await self.deliverer.cancel_pending()
        self.deliverer.records.clear()
        self.update_config(self._initial_config.model_dump())
        await super().reset()

    async def aclose(self) -> None:
        """Stop deliveries and close the HTTP client (app shutdown, test teardown)."""
        await self.deliverer.aclose()

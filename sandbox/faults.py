"""Fault injection shared by the three sandbox services.

Real SaaS APIs rate-limit, time out and fail; the product must turn those into retries. Tests
arm a fault through `POST /_sandbox/faults` and then check that the product recovered, using
`FaultBoard.injected` to prove the fault really happened.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultStatus = Literal[408, 429, 500, 502, 503, 504]


class FaultSpec(BaseModel):
    """One armed fault, as posted to `/_sandbox/faults`.

    A fault fires `count` times, or on each matching request with `probability` when that is
    given (until cleared). Without `status` it is a "slow" fault that only delays the request.
    """

    model_config = ConfigDict(extra="forbid")

    status: FaultStatus | None = None
    count: int = Field(default=1, ge=1)
    retry_after: int = Field(default=1, ge=0, description="Seconds, sent with 429 responses")
    delay_ms: int | None = Field(default=None, ge=0)
    path_contains: str | None = None
    probability: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if self.status is None and self.delay_ms is None:
            raise ValueError("a fault needs a status, a delay_ms, or both")
        return self


@dataclass
class _ArmedFault:
    spec: FaultSpec
    remaining: int


class FaultBoard:
    """The armed faults of one service, matched in the order they were armed."""

    def __init__(self) -> None:
        self._armed: list[_ArmedFault] = []
        self.injected: Counter[str] = Counter()

    def arm(self, spec: FaultSpec) -> None:
        self._armed.append(_ArmedFault(spec, spec.count))

    def clear(self) -> None:
        self._armed.clear()

    def reset(self) -> None:
        self.clear()
        self.injected.clear()

    def armed(self) -> list[dict[str, object]]:
        return [
            {
                **armed.spec.model_dump(),
                "remaining": None if armed.spec.probability else armed.remaining,
            }
            for armed in self._armed
        ]

    def take(self, path: str, rng: random.Random) -> FaultSpec | None:
        """The fault that applies to this request, if any; counted as injected."""
        for armed in self._armed:
            spec = armed.spec
            if spec.path_contains is not None and spec.path_contains not in path:
                continue
            if spec.probability is not None:
                if rng.random() >= spec.probability:
                    continue
            else:
                armed.remaining -= 1
                if armed.remaining == 0:
                    self._armed.remove(armed)
            self.injected[str(spec.status) if spec.status else "delay"] += 1
            return spec
        return None

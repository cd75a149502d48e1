"""Rolling windows, the way Zendesk counts its per-minute request limits."""

from __future__ import annotations

import math
from collections import deque


class RollingWindow:
    """The requests admitted in the last `seconds` (a rolling window, not a fixed minute)."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._admitted: deque[float] = deque()

    def admit(self, now: float, limit: int | None) -> int | None:
        """Count one request at `now`, unless that would pass `limit` (None: no limit).

        Returns:
            None if admitted, else the whole seconds until a request would be (`Retry-After`).
        """
        if limit is None:
            return None
        self._forget(now)
        if len(self._admitted) >= limit:
            return self.reset(now)
        self._admitted.append(now)
        return None

    def remaining(self, now: float, limit: int) -> int:
        """How many more requests the window takes now (`X-Rate-Limit-Remaining`)."""
        self._forget(now)
        return max(0, limit - len(self._admitted))

    def reset(self, now: float) -> int:
        """Whole seconds until the oldest counted request leaves the window (at least 1 while
        it holds any, 0 when empty): when one more request fits again (`ratelimit-reset`)."""
        self._forget(now)
        if not self._admitted:
            return 0
        return max(1, math.ceil(self._admitted[0] + self.seconds - now))

    def clear(self) -> None:
        self._admitted.clear()

    def _forget(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - self.seconds:
            self._admitted.popleft()

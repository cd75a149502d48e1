"""Klaviyo profiles by phone number, kept for a while in the worker process.

Every customer text needs the customer's consent, and Klaviyo allows 700 profile reads a minute
(75 a second in bursts): a busy account receives more texts than that, mostly from customers
who texted a moment ago. A miss ("no profile") is kept too, so an unknown number is not looked
up again on each text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from cachetools import TTLCache

from clients.klaviyo import KlaviyoProfile

#: Bounds the memory: 50,000 profiles are about 25 MB.
MAX_PROFILES = 50_000
_UNKNOWN = object()  # not kept, as opposed to kept as "no profile" (None)


class ProfileCache:
    """Answers by phone number for `ttl`, the least recently used dropped first when full."""

    def __init__(
        self,
        ttl: timedelta,
        *,
        max_profiles: int = MAX_PROFILES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keeps = ttl.total_seconds() > 0
        self._entries: TTLCache[str, KlaviyoProfile | None] = TTLCache(
            maxsize=max_profiles, ttl=ttl.total_seconds(), timer=clock
        )

    def get(self, phone: str) -> tuple[bool, KlaviyoProfile | None]:
        """(True, profile or None) if a fresh answer is kept; (False, None) to look it up."""
        found = self._entries.get(phone, _UNKNOWN)
        if found is _UNKNOWN:
            return False, None
        assert found is None or isinstance(found, KlaviyoProfile)
        return True, found

    def put(self, phone: str, profile: KlaviyoProfile | None) -> None:
        if self._keeps:
            self._entries[phone] = profile

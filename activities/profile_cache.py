"""Klaviyo profiles by phone number, kept for a while in the worker process.

Every customer text needs the customer's consent, and Klaviyo allows 700 profile reads a minute
(75 a second in bursts): a busy account receives more texts than that, mostly from customers
who texted a moment ago. A miss ("no profile") is kept too, so an unknown number is not looked
up again on each text.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

from clients.klaviyo import KlaviyoProfile

#: Bounds the memory: 50,000 profiles are about 25 MB.
MAX_PROFILES = 50_000


class ProfileCache:
    def __init__(
        self,
        ttl: timedelta,
        *,
        max_profiles: int = MAX_PROFILES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl.total_seconds()
        self._max = max_profiles
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, KlaviyoProfile | None]] = OrderedDict()

    def get(self, phone: str) -> tuple[bool, KlaviyoProfile | None]:
        """(True, profile or None) if a fresh answer is kept; (False, None) to look it up."""
        entry = self._entries.get(phone)
        if entry is None:
            return False, None
        stored_at, profile = entry
        if self._clock() - stored_at >= self._ttl:
            del self._entries[phone]
            return False, None
        self._entries.move_to_end(phone)
        return True, profile

    def put(self, phone: str, profile: KlaviyoProfile | None) -> None:
        if self._ttl <= 0:
            return
        self._entries[phone] = (self._clock(), profile)
        self._entries.move_to_end(phone)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)  # the least recently used

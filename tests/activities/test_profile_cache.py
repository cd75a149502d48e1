"""The worker's Klaviyo profile cache: fresh answers kept, stale ones dropped, memory bounded."""

from __future__ import annotations

from datetime import timedelta

from activities.profile_cache import ProfileCache
from clients.klaviyo import KlaviyoProfile


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def profile(phone: str) -> KlaviyoProfile:
    return KlaviyoProfile(
        id=f"01{phone[-4:]}", phone_number=phone, sms_marketing_consent="SUBSCRIBED"
    )


def test_a_profile_is_kept_until_its_time_is_up() -> None:
    clock = Clock()
    cache = ProfileCache(timedelta(minutes=5), clock=clock)
    assert cache.get("+15551230001") == (False, None)
    cache.put("+15551230001", profile("+15551230001"))
    clock.now += 299
    kept, found = cache.get("+15551230001")
    assert kept and found is not None and found.phone_number == "+15551230001"
    clock.now += 1
    assert cache.get("+15551230001") == (False, None)


def test_no_profile_is_an_answer_kept_too() -> None:
    cache = ProfileCache(timedelta(minutes=5), clock=Clock())
    cache.put("+15551230002", None)
    assert cache.get("+15551230002") == (True, None)


def test_the_least_recently_used_profile_goes_first() -> None:
    cache = ProfileCache(timedelta(minutes=5), max_profiles=2, clock=Clock())
    for phone in ("+15551230001", "+15551230002"):
        cache.put(phone, profile(phone))
    cache.get("+15551230001")  # now the more recent of the two
    cache.put("+15551230003", profile("+15551230003"))
    assert cache.get("+15551230002") == (False, None)
    assert cache.get("+15551230001")[0] and cache.get("+15551230003")[0]


def test_a_zero_lifetime_keeps_nothing() -> None:
    cache = ProfileCache(timedelta(0), clock=Clock())
    cache.put("+15551230001", profile("+15551230001"))
    assert cache.get("+15551230001") == (False, None)

"""Which budgets a request spends, what the headers say, and what an answer pauses (B14)."""

from __future__ import annotations

import httpx
import pytest

from clients.zendesk_budget import Budget, Window, budgets_for, burst_for, pauses, windows

ACCOUNT, UPDATE = Budget.ACCOUNT, Budget.UPDATE


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", "/api/v2/tickets/123", (UPDATE, ACCOUNT)),
        ("PUT", "/api/v2/tickets/123.json", (UPDATE, ACCOUNT)),
        ("PUT", "/api/v2/tickets/update_many", (UPDATE, ACCOUNT)),
        ("GET", "/api/v2/tickets/123", (ACCOUNT,)),
        ("POST", "/api/v2/tickets", (ACCOUNT,)),
        ("GET", "/api/v2/tickets/123/audits", (ACCOUNT,)),
        ("PUT", "/api/v2/tickets/123/tags", (ACCOUNT,)),
        ("POST", "/api/v2/users/create_or_update", (ACCOUNT,)),
    ],
)
def test_update_ticket_and_update_many_spend_the_update_budget_first(
    method: str, path: str, expected: tuple[Budget, ...]
) -> None:
    assert budgets_for(method, path) == expected


def test_the_headers_describe_the_account_and_on_an_update_its_own_window() -> None:
    headers = httpx.Headers(
        {
            "X-Rate-Limit": "700",
            "X-Rate-Limit-Remaining": "650",
            "ratelimit-limit": "100",
            "ratelimit-remaining": "12",
            "ratelimit-reset": "41",
        }
    )
    assert windows(headers, (UPDATE, ACCOUNT)) == {
        ACCOUNT: Window(700, 650),
        UPDATE: Window(100, 12, 41.0),
    }
    # Elsewhere `ratelimit-*` is the account's own window, with its reset.
    assert windows(headers, (ACCOUNT,)) == {ACCOUNT: Window(100, 12, 41.0)}
    assert windows(httpx.Headers({"X-Rate-Limit": "x"}), (ACCOUNT,)) == {}


def test_room_in_the_windows_pauses_nothing() -> None:
    seen = {ACCOUNT: Window(700, 300), UPDATE: Window(100, 30, 20.0)}
    assert pauses((UPDATE, ACCOUNT), seen, refused_for=None) == {}


def test_a_window_nearly_spent_by_others_pauses_until_it_frees() -> None:
    seen = {UPDATE: Window(100, 4, 17.0), ACCOUNT: Window(700, 34)}
    decided = pauses((UPDATE, ACCOUNT), seen, refused_for=None)
    assert decided[(UPDATE, "headers")] == 17.0  # its reset
    # No reset said: the time the missing share takes to age out of an evenly used minute.
    assert decided[(ACCOUNT, "headers")] == pytest.approx(60 * 2 / 700)


def test_a_429_pauses_the_budget_its_headers_show_spent() -> None:
    seen = {ACCOUNT: Window(700, 200), UPDATE: Window(100, 0, 9.0)}
    decided = pauses((UPDATE, ACCOUNT), seen, refused_for=9.0)
    assert decided == {(UPDATE, "headers"): 9.0, (UPDATE, "429"): 9.0}
    spent_account = pauses((ACCOUNT,), {ACCOUNT: Window(700, 0)}, refused_for=30.0)
    assert spent_account[(ACCOUNT, "429")] == 30.0


def test_a_429_below_the_limits_pauses_the_whole_account() -> None:
    """Zendesk refuses during spikes below the plan's limit: same handling."""
    assert pauses((ACCOUNT,), {}, refused_for=4.0) == {(ACCOUNT, "429"): 4.0}
    assert pauses((UPDATE, ACCOUNT), {}, refused_for=4.0) == {(ACCOUNT, "429"): 4.0}
    roomy = {ACCOUNT: Window(700, 500)}
    assert pauses((ACCOUNT,), roomy, refused_for=4.0) == {(ACCOUNT, "429"): 4.0}


def test_a_429_on_an_update_with_room_in_both_windows_is_that_tickets_own_limit() -> None:
    seen = {ACCOUNT: Window(700, 500), UPDATE: Window(100, 60, 30.0)}
    assert pauses((UPDATE, ACCOUNT), seen, refused_for=600.0) == {}
    # Without headers too: no account window makes anyone wait longer than itself.
    assert pauses((UPDATE, ACCOUNT), {}, refused_for=600.0) == {}


def test_a_spike_never_pauses_the_account_longer_than_a_window() -> None:
    assert pauses((ACCOUNT,), {}, refused_for=600.0) == {(ACCOUNT, "429"): 60.0}


def test_a_small_burst_is_allowed_after_a_quiet_spell() -> None:
    assert [burst_for(limit) for limit in (1, 20, 70, 700)] == [1, 1, 3, 35]

"""The status → retry table: each answer a service can give becomes the right typed client error
(`clients.errors.raise_for_status`) and the right Temporal decision (`retry_decisions`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.errors import retry_decisions
from clients import errors
from clients.errors import raise_for_status


def _answer(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("PUT", "https://acme.zendesk.com/api/v2/tickets/7")
    return httpx.Response(status, headers=headers, json={"error": "x"}, request=request)


@pytest.mark.parametrize(
    ("status", "client_error", "retried"),
    [
        (400, errors.RejectedRequest, False),
        (401, errors.Unauthorized, False),
        (403, errors.Unauthorized, False),
        (404, errors.NotFound, False),
        (408, errors.RetryableStatus, True),
        (409, errors.RetryableStatus, True),
        (410, errors.RejectedRequest, False),
        (413, errors.RejectedRequest, False),
        (422, errors.Unprocessable, False),
        (429, errors.RateLimited, True),
        (500, errors.RetryableStatus, True),
        (502, errors.RetryableStatus, True),
        (503, errors.RetryableStatus, True),
        (504, errors.RetryableStatus, True),
    ],
)
def test_each_status_is_one_typed_error_and_one_retry_decision(
    status: int, client_error: type[errors.ApiError], retried: bool
) -> None:
    with pytest.raises(ApplicationError) as decided, retry_decisions():
        with pytest.raises(client_error) as raised:
            raise_for_status("zendesk", _answer(status))
        assert type(raised.value) is client_error
        raise raised.value
    assert decided.value.non_retryable is not retried
    assert decided.value.type == client_error.__name__


def test_a_success_raises_nothing() -> None:
    for status in (200, 201, 204, 304):
        raise_for_status("zendesk", _answer(status))


def test_a_429_is_retried_after_the_services_own_retry_after() -> None:
    with pytest.raises(ApplicationError) as decided, retry_decisions():
        raise_for_status("zendesk", _answer(429, {"Retry-After": "37"}))
    assert decided.value.next_retry_delay == timedelta(seconds=37)
    with pytest.raises(ApplicationError) as unparseable, retry_decisions():
        raise_for_status("zendesk", _answer(429, {"Retry-After": "soon"}))
    assert unparseable.value.next_retry_delay is None  # the retry policy's own backoff


@pytest.mark.parametrize(
    ("header", "delay"),
    [
        ("0", timedelta(0)),
        ("-5", timedelta(0)),  # a clock-skewed negative wait is no wait, never an error
        ("2.5", timedelta(seconds=2.5)),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),  # the HTTP-date form: the policy's backoff
    ],
)
def test_retry_after_is_read_in_seconds_only(header: str, delay: timedelta | None) -> None:
    with pytest.raises(ApplicationError) as decided, retry_decisions():
        raise_for_status("zendesk", _answer(429, {"Retry-After": header}))
    assert decided.value.next_retry_delay == delay


def test_no_answer_at_all_is_retried() -> None:
    with pytest.raises(ApplicationError) as decided, retry_decisions():
        raise errors.TransportFailure("twilio", "POST /Messages.json: ConnectTimeout")
    assert not decided.value.non_retryable and decided.value.type == "TransportFailure"


def test_a_request_that_waited_for_its_budget_is_retried_when_a_slot_frees() -> None:
    """Never sent (B14): retried after the wait its budget named, not the policy's backoff."""
    with pytest.raises(ApplicationError) as decided, retry_decisions():
        raise errors.BudgetWait("zendesk", "update", retry_after=42.0)
    assert not decided.value.non_retryable and decided.value.type == "BudgetWait"
    assert decided.value.next_retry_delay == timedelta(seconds=42)


def test_other_exceptions_pass_through_untranslated() -> None:
    with pytest.raises(KeyError), retry_decisions():
        raise KeyError("a bug is not an API error")

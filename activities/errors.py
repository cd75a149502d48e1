"""The one place where API errors become Temporal retry decisions (DESIGN: exactly-once rules).

408/409/429/5xx and transport failures are retried by Temporal's retry policy, 429 after the
service's own Retry-After, and a request that waited for its budget (`BudgetWait`, never sent)
when a slot frees; every other 4xx fails at once as a non-retryable `ApplicationError`
whose `type` is the client error's class name, so workflows match on type, not text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from clients.errors import ApiError, BudgetWait, RateLimited, RejectedRequest


@contextmanager
def retry_decisions() -> Iterator[None]:
    """Translate `clients.errors` raised inside the block into `ApplicationError`s."""
    try:
        yield
    except (RateLimited, BudgetWait) as exc:
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
        kind = type(exc).__name__
        raise ApplicationError(str(exc), type=kind, next_retry_delay=delay) from exc
    except RejectedRequest as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
    except ApiError as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__) from exc

"""What a worker process remembers of attempts that never reached Zendesk."""

from __future__ import annotations

import dataclasses

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from activities.retried_writes import UnprocessedAttempts


def info(activity_id: str, attempt: int) -> activity.Info:
    return dataclasses.replace(ActivityEnvironment().info, activity_id=activity_id, attempt=attempt)


def test_only_an_unbroken_run_of_remembered_attempts_skips_the_check() -> None:
    memory = UnprocessedAttempts()
    assert memory.none_may_have_written(info("a", 1))  # a first attempt has nothing before it
    memory.remember(info("a", 1))
    assert memory.none_may_have_written(info("a", 2))
    # Attempt 2 was not remembered (it may have written): attempt 3 must check, and so must
    # any later one, although attempt 1 was remembered once.
    assert not memory.none_may_have_written(info("a", 3))
    memory.remember(info("a", 1))
    assert not memory.none_may_have_written(info("a", 3))
    assert not memory.none_may_have_written(info("b", 2))  # another activity: never seen


def test_the_oldest_attempts_are_forgotten_past_the_capacity() -> None:
    memory = UnprocessedAttempts(capacity=2)
    for name in ("a", "b", "c"):
        memory.remember(info(name, 1))
    assert not memory.none_may_have_written(info("a", 2))  # forgotten: checks, the safe way
    assert memory.none_may_have_written(info("b", 2))
    assert memory.none_may_have_written(info("c", 2))

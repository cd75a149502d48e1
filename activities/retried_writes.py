"""Which retried writes need their exactly-once check (B4, B14).

A write retried after an attempt that may have reached Zendesk first looks for that attempt's
reference among the ticket's audits (`ZendeskActivities._find_written`). An attempt that ended
before Zendesk processed anything cannot have written: it found no budget slot (`BudgetWait`,
never sent) or was refused (a 429). Under a binding budget most retries follow such attempts,
and checking each one spent about a third of the account's budget in the budget bench on
reads that could find nothing.

So the worker process remembers the attempts that ended unprocessed. The memory is only ever
a reason to skip a read: a retry that lands on another worker process, or after a restart,
finds nothing remembered and checks, as every retry did before.
"""

from __future__ import annotations

from temporalio import activity

from clients.errors import BudgetWait, RateLimited

#: Errors raised before Zendesk processed the request.
UNPROCESSED = (BudgetWait, RateLimited)

#: Attempts remembered at most, oldest forgotten first: an activity whose workflow stopped
#: retrying never comes back for its entry.
CAPACITY = 10_000


class UnprocessedAttempts:
    """For each retried activity, the last attempt through which none reached Zendesk."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._none_through: dict[tuple[str, str], int] = {}

    def none_may_have_written(self, info: activity.Info) -> bool:
        """True when no earlier attempt of this activity can have reached Zendesk."""
        if info.attempt == 1:
            return True
        # Equal to the attempt before this one only if every earlier attempt was remembered.
        return self._none_through.pop(_key(info), None) == info.attempt - 1

    def remember(self, info: activity.Info) -> None:
        """This attempt, and every one before it, ended before Zendesk processed anything."""
        self._none_through[_key(info)] = info.attempt
        if len(self._none_through) > self._capacity:
            del self._none_through[next(iter(self._none_through))]


def _key(info: activity.Info) -> tuple[str, str]:
    return (info.workflow_run_id or "", info.activity_id)

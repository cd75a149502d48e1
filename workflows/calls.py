"""How a conversation runs its activities: one timeout, durable retries, and the Zendesk queue.

Outages are waited out, however long they last: nothing is dropped after N attempts. Requests
that can never succeed fail at once (non-retryable) and are handled by the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from core.queues import zendesk_update_queue

ACTIVITY_TIMEOUT = timedelta(seconds=30)
DURABLE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


Activities = TypeVar("Activities")  # the class holding the activity method (its clients)
Arg = TypeVar("Arg")
Result = TypeVar("Result")
#: An activity method as the workflow names it, `ZendeskActivities.open_ticket`: typed like the
#: SDK's own `execute_activity_method`, so a wrong argument or an unknown field of the result
#: fails `mypy --strict` (tests/workflows/test_typed_seam.py).
ActivityMethod = Callable[[Activities, Arg], Awaitable[Result]]


class Calls:
    def __init__(self, zendesk_task_queue: str) -> None:
        self._zendesk_queue = zendesk_task_queue

    async def run(self, method: ActivityMethod[Activities, Arg, Result], arg: Arg) -> Result:
        """An activity on the workflow's own task queue (SMS, Klaviyo, database)."""
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=DURABLE_RETRY
        )

    async def read(
        self, method: ActivityMethod[Activities, Arg, Result], arg: Arg, *, local: bool
    ) -> Result:
        """A short read (database, Klaviyo), as a local activity when `local` (the run has
        `versions.LOCAL_READS`; older histories replay the ordinary activity they ran)."""
        if not local:
            return await self.run(method, arg)
        return await self.local(method, arg)

    async def local(
        self,
        method: ActivityMethod[Activities, Arg, Result],
        arg: Arg,
        *,
        retry_policy: RetryPolicy = DURABLE_RETRY,
    ) -> Result:
        """A short read as a local activity: it runs inside the workflow task, sparing the
        server an activity task and a workflow task per call. Longer backoffs still wait on a
        durable timer."""
        return await workflow.execute_local_activity_method(
            method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=retry_policy
        )

    async def zendesk(self, method: ActivityMethod[Activities, Arg, Result], arg: Arg) -> Result:
        """A Zendesk activity, on the queue whose rate limit is the account's budget (B5)."""
        return await self._on_zendesk_queue(self._zendesk_queue, method, arg)

    async def zendesk_update(
        self, method: ActivityMethod[Activities, Arg, Result], arg: Arg
    ) -> Result:
        """A Zendesk activity that updates a ticket (B14): on the queue whose rate limit is
        the update budget, so a backlog of writes waits on the server, in order, while the
        workflow gathers the texts that arrive meanwhile into the next comment."""
        return await self._on_zendesk_queue(zendesk_update_queue(self._zendesk_queue), method, arg)

    async def _on_zendesk_queue(
        self, queue: str, method: ActivityMethod[Activities, Arg, Result], arg: Arg
    ) -> Result:
        return await workflow.execute_activity_method(
            method,
            arg,
            task_queue=queue,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=DURABLE_RETRY,
        )

"""Reconcile: the scheduled repair of what never reached a webhook (B1, B10).

Run by the `smsdesk-reconcile` schedule every RECONCILE_INTERVAL (overlapping runs skipped),
or on demand by `starter.py reconcile`. Both sides run at once; each reads from its own cursor,
so reconciling the same window twice changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import ReconcileActivities
    from core.reconcile import WORKFLOW_NAME, ReconcileInput, ReconcileReport, SideInput

#: Pages of a long backlog take a while; a stuck attempt is found by its missing heartbeat.
SIDE_TIMEOUT = timedelta(minutes=10)
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
#: A side that keeps failing gives way to the next scheduled run, which starts from the same
#: cursor: nothing is lost by giving up here.
SIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=5
)


@workflow.defn(name=WORKFLOW_NAME)
class Reconcile:
    @workflow.run
    async def run(self, request: ReconcileInput) -> ReconcileReport:
        side = SideInput(since=request.since, run_started_at=workflow.info().workflow_start_time)
        zendesk, sms = await asyncio.gather(
            workflow.execute_activity_method(
                ReconcileActivities.reconcile_zendesk,
                side,
                task_queue=request.zendesk_task_queue,
                start_to_close_timeout=SIDE_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=SIDE_RETRY,
            ),
            workflow.execute_activity_method(
                ReconcileActivities.reconcile_sms,
                side,
                start_to_close_timeout=SIDE_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=SIDE_RETRY,
            ),
        )
        report = ReconcileReport(zendesk=zendesk, sms=sms)
        workflow.logger.info("reconciled: %s", report.summary())
        return report

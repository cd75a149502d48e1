"""The `smsdesk-reconcile` schedule (B1, B10) is created once and kept up to date by every
worker start: a second call with a new interval updates it rather than failing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from core.reconcile import WORKFLOW_NAME
from core.settings import Settings
from infra.temporal import ensure_reconcile_schedule


async def test_the_schedule_is_created_then_updated_in_place(
    temporal_env: WorkflowEnvironment,
) -> None:
    client = temporal_env.client
    schedule_id = f"smsdesk-reconcile-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(_env_file=None, reconcile_interval="PT5M")  # type: ignore[call-arg]
    await ensure_reconcile_schedule(client, settings, schedule_id=schedule_id)
    handle = client.get_schedule_handle(schedule_id)
    try:
        await handle.pause()  # nothing polls these queues: no run should be attempted
        faster = settings.model_copy(update={"reconcile_interval": timedelta(seconds=30)})
        await ensure_reconcile_schedule(client, faster, schedule_id=schedule_id)
        described = await handle.describe()
        schedule = described.schedule
        assert [spec.every for spec in schedule.spec.intervals] == [timedelta(seconds=30)]
        assert schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
        action = schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == WORKFLOW_NAME
        assert action.task_queue == settings.temporal_task_queue
    finally:
        await handle.delete()

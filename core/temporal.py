"""The one way the product builds its Temporal client (worker, webhooks and CLI must agree on
the data converter, or one side could not read what the other wrote), and the schedule the
workers keep in place."""

from __future__ import annotations

import dataclasses

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from core.codec import EncryptionCodec, parse_key
from core.reconcile import SCHEDULE_ID, ReconcileInput
from core.reconcile import WORKFLOW_NAME as RECONCILE_WORKFLOW
from core.settings import Settings


def codec_for(settings: Settings) -> EncryptionCodec | None:
    if settings.pii_encryption_key is None:
        return None
    return EncryptionCodec(
        parse_key(settings.pii_encryption_key.get_secret_value()),
        [parse_key(old.get_secret_value()) for old in settings.pii_old_encryption_keys],
    )


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic models in and out, sealed by the encryption codec when a key is set (B3)."""
    codec = codec_for(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )


async def ensure_reconcile_schedule(
    client: Client, settings: Settings, *, schedule_id: str = SCHEDULE_ID
) -> None:
    """Create the reconciler's schedule, or bring an existing one up to date (idempotent:
    every worker calls this at start). Overlapping runs are skipped, not queued."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            RECONCILE_WORKFLOW,
            ReconcileInput(zendesk_task_queue=settings.zendesk_task_queue),
            id=f"{schedule_id}-run",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.reconcile_interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)

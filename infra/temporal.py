"""The one way the product builds its Temporal client (worker, webhooks and CLI must agree on
the data converter, or one side could not read what the other wrote), and the schedule the
workers keep in place."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.client import (
    Client,
    Interceptor,
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
from temporalio.envconfig import ClientConfig, ClientConnectConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.reconcile import SCHEDULE_ID, ReconcileInput
from core.reconcile import WORKFLOW_NAME as RECONCILE_WORKFLOW
from core.settings import Settings
from infra.env_file import read_env_file

if TYPE_CHECKING:
    from core.codec import EncryptionCodec


@lru_cache
def sdk_runtime(bind_address: str) -> Runtime:
    """One SDK runtime per process exposing the SDK's metrics for Prometheus (the Runtime
    owns threads and the HTTP listener, so it is made once)."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=bind_address, durations_as_seconds=True)
        )
    )


def codec_for(settings: Settings) -> EncryptionCodec | None:
    if settings.pii_encryption_key is None:
        return None
    from core.codec import EncryptionCodec, parse_key  # cryptography: only with a key

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


def connect_config(
    settings: Settings, environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")
) -> ClientConnectConfig:
    """Where and how to reach Temporal, by the SDK's environment configuration.

    `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
    `TEMPORAL_GRPC_META_*`, and profiles in a TOML file (`TEMPORAL_PROFILE`,
    `TEMPORAL_CONFIG_FILE`, or the SDK's default path), read from the environment and, as every
    setting, from `.env`. An address or namespace set on `settings` itself (the dev stack,
    tests) wins; otherwise the settings' defaults fill what the configuration leaves out.
    """
    env = dict(os.environ if environ is None else environ)
    for key, value in read_env_file(env_file).items():
        if key.startswith("TEMPORAL_"):
            env.setdefault(key, value)
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    given = settings.model_fields_set
    if "temporal_address" in given or "target_host" not in config:
        config["target_host"] = settings.temporal_address
    if "temporal_namespace" in given or "namespace" not in config:
        config["namespace"] = settings.temporal_namespace
    return config


def _interceptors(settings: Settings) -> list[Interceptor]:
    if settings.otel_exporter_otlp_endpoint is None:
        return []
    from infra.tracing import tracing_interceptors  # the OpenTelemetry SDK only when tracing

    return tracing_interceptors(settings)


async def connect(settings: Settings) -> Client:
    address = settings.temporal_sdk_metrics_bind_address
    return await Client.connect(
        **connect_config(settings),
        data_converter=data_converter(settings),
        runtime=sdk_runtime(address) if address else None,
        interceptors=_interceptors(settings),
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

"""The worker and the webhooks started together on a fresh database, as `docker compose up`
does after its one-shot migrate service, ten times over: neither crashes. (Before migrations,
both ran `create_all` at start and one of them sometimes died on `table already exists`.)"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

import migrations
from core.settings import Settings
from devstack.cluster import Cluster
from devstack.processes import free_port
from devstack.sandboxes import SandboxPorts, with_sandboxes
from tests.drills.harness import remove_reconcile_schedule

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_worker_and_webhooks_start_together_on_a_fresh_database_ten_times(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    try:
        for attempt in range(10):
            folder = tmp_path / f"start-{attempt}"
            folder.mkdir()
            url = f"sqlite:///{folder / 'smsdesk.db'}"
            migrations.upgrade(url)  # the compose stack's migrate service
            port = free_port()
            queue = f"start-{uuid.uuid4().hex[:8]}"
            settings = with_sandboxes(
                Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    temporal_address=temporal_env.client.service_client.config.target_host,
                    temporal_task_queue=queue,
                    zendesk_task_queue=f"{queue}-zendesk",
                    database_url=url,
                    public_base_url=f"http://127.0.0.1:{port}",
                ),
                SandboxPorts(zendesk=free_port(), twilio=free_port(), klaviyo=free_port()),
            )
            cluster = Cluster(settings, folder)
            try:
                worker = cluster.start_worker()
                webhooks = await cluster.start_webhooks()  # the worker is starting meanwhile
                async with asyncio.timeout(60):
                    while "worker polling" not in Path(worker.log_path).read_text():
                        assert worker.running(), worker.log_tail()
                        await asyncio.sleep(0.1)
                assert worker.running() and webhooks.running()
            finally:
                cluster.stop()
    finally:
        await remove_reconcile_schedule(temporal_env.client)

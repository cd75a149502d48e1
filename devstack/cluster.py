"""The product assembled as OS processes on loopback: the Temporal dev server (persisted to a
SQLite file), the sandboxes, the webhook server (`uvicorn webapp:app`) and the worker
(`python worker.py`), each configured from one `Settings` through its environment, as an
operator configures them.

The one process assembler: the bench starts all four (memory and CPU are only measurable per
process); the drills start the parts they kill, freeze or restart, beside an in-process stack
(`devstack/stack.py`) for the rest.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

import migrations
from core.settings import Settings
from devstack.processes import free_port, temporal_server_args
from devstack.sandboxes import SandboxPorts, with_sandboxes
from devstack.subprocesses import (
    ManagedProcess,
    Memory,
    child_env,
    port_of,
    sandboxes_args,
    spawn,
    wait_for_port,
    webhooks_args,
    worker_args,
)
from infra import temporal
from workflows.search import DEV_SERVER_ARGS

#: Matching splits a task queue's rate limit across its partitions (4 by default), so the
#: Zendesk budget is only exact on one partition: what deploy/temporal/dynamicconfig sets.
DEV_SERVER_CONFIG: dict[str, object] = {
    "matching.numTaskqueueReadPartitions": 1,
    "matching.numTaskqueueWritePartitions": 1,
}


@dataclass
class Cluster:
    """The parts, started one by one or together; each keeps its log in `state_dir/logs`."""

    settings: Settings
    state_dir: Path
    sqlite_pragmas: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @classmethod
    def on_free_ports(
        cls,
        state_dir: Path,
        *,
        queue_prefix: str = "cluster",
        sqlite_pragmas: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Cluster:
        """The whole product on free loopback ports and fresh task queues, its database in
        `state_dir` (unless `overrides` name another `database_url`), every vendor a sandbox;
        `overrides` are further settings."""
        ports = SandboxPorts(zendesk=free_port(), twilio=free_port(), klaviyo=free_port())
        queue = f"{queue_prefix}-{uuid.uuid4().hex[:6]}"
        base = Settings(
            _env_file=None,
            temporal_address=f"127.0.0.1:{free_port()}",
            temporal_task_queue=queue,
            zendesk_task_queue=f"{queue}-zendesk",
            public_base_url=f"http://127.0.0.1:{free_port()}",
            **({"database_url": f"sqlite:///{state_dir / 'smsdesk.db'}"} | overrides),
        )
        return cls(with_sandboxes(base, ports), state_dir, dict(sqlite_pragmas or {}))

    async def start(self) -> None:
        """All four, each once the one it depends on listens; if one fails to start, the ones
        started before it are stopped (a caller holds no cluster to stop yet)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(self.settings.database_url)  # as the compose stack's migrate service
        try:
            await self.start_temporal()
            await self.start_sandboxes()
            await self.start_webhooks()
            self.start_worker()
        except BaseException:
            self.stop()
            raise

    async def start_temporal(self) -> ManagedProcess:
        """`temporal server start-dev` on the settings' address, persisted in `state_dir`."""
        port = port_of(f"//{self.settings.temporal_address}")
        server = self.spawn(
            "temporal",
            temporal_server_args(
                db_file=self.state_dir / "temporal.db",
                port=port,
                ui_port=free_port(),
                search_attributes=DEV_SERVER_ARGS,
                dynamic_config=DEV_SERVER_CONFIG,
                sqlite_pragmas=self.sqlite_pragmas,
            ),
        )
        await wait_for_port(server, port)
        return server

    async def start_sandboxes(self) -> ManagedProcess:
        """`python -m sandbox` on the ports of the settings' sandbox URLs."""
        sandboxes = self.spawn("sandboxes", sandboxes_args(self.settings))
        for url in (
            self.settings.zendesk_url,
            self.settings.twilio_base_url,
            self.settings.klaviyo_base_url,
        ):
            await wait_for_port(sandboxes, port_of(url))
        return sandboxes

    async def start_webhooks(self) -> ManagedProcess:
        """`uvicorn webapp:app` on the port of the settings' public URL."""
        port = port_of(self.settings.public_base_url)
        webhooks = self.spawn("webhooks", webhooks_args(port))
        await wait_for_port(webhooks, port)
        return webhooks

    def start_worker(self) -> ManagedProcess:
        """`python worker.py`; it listens on nothing, so nothing is waited for."""
        return self.spawn("worker", worker_args())

    async def restart_worker(self, **changes: Any) -> ManagedProcess:
        """Stop the worker and start it again, with `changes` to its settings if any; return
        once the new worker polls for workflow tasks. A started worker spends its first
        seconds importing and checking its workflows, and a load offered meanwhile would
        measure a worker booting, not a worker running."""
        self.processes.pop("worker").stop()
        if changes:
            self.settings = self.settings.model_copy(update=changes)
        worker = self.start_worker()
        await self._until_polling(worker)
        return worker

    async def _until_polling(self, worker: ManagedProcess, timeout: float = 60.0) -> None:
        """Return once `worker` polls its workflow task queue; fail with its log if not."""
        identity = f"{worker.pid}@"  # the SDK's default identity is pid@host
        request = DescribeTaskQueueRequest(
            namespace=self.settings.temporal_namespace,
            task_queue=TaskQueue(name=self.settings.temporal_task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        client = await self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            answer = await client.workflow_service.describe_task_queue(request)
            if any(p.identity.startswith(identity) for p in answer.pollers):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the worker polled nothing within {timeout:g}s:\n{worker.log_tail()}")

    def spawn(self, name: str, args: list[str]) -> ManagedProcess:
        """Start `args` as the part `name`, configured by this cluster's settings alone."""
        process = spawn(
            name,
            args,
            env=child_env(self.settings),
            log_dir=self.state_dir / "logs",
            cwd=self.state_dir,  # holds no `.env`: the settings are the environment's
        )
        self.processes.pop(name, None)  # a part started again goes last, so it stops first
        self.processes[name] = process
        return process

    async def client(self) -> Client:
        """A Temporal client as the product's own parts make theirs."""
        return await temporal.connect(self.settings)

    def memory(self) -> dict[str, Memory]:
        return {name: p.memory() for name, p in self.processes.items() if p.running()}

    def check_alive(self) -> None:
        for process in self.processes.values():
            if not process.running():
                raise RuntimeError(f"{process.name} died:\n{process.log_tail()}")

    def stop(self) -> None:
        """Every part, the last started first: the worker does not log the others going away,
        and the Temporal server goes last."""
        for name in reversed(list(self.processes)):
            self.processes.pop(name).stop()

    def url(self, service: str, path: str) -> str:
        base = {
            "zendesk": self.settings.zendesk_url,
            "twilio": self.settings.twilio_base_url,
            "klaviyo": self.settings.klaviyo_base_url,
            "webhooks": self.settings.public_base_url,
        }[service]
        return base.rstrip("/") + path

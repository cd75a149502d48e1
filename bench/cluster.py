"""The product as the benchmark runs it: four OS processes on loopback.

Temporal dev server (persisted to a SQLite file), the sandboxes (with the Zendesk receipt log),
the webhook server (uvicorn) and the worker, each a process of its own so their memory and CPU
are measured separately (`devstack.subprocesses`).
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import migrations
from core.settings import Settings
from devstack.processes import free_port, temporal_server_args
from devstack.sandboxes import SandboxPorts, with_sandboxes
from devstack.subprocesses import (
    ManagedProcess,
    Memory,
    child_env,
    sandboxes_args,
    spawn,
    wait_for_port,
    webhooks_args,
    worker_args,
)
from workflows.search import DEV_SERVER_ARGS

#: Matching splits a task queue's rate limit across its partitions (4 by default), so the
#: Zendesk budget is only exact on one partition: what deploy/temporal/dynamicconfig sets.
DEV_SERVER_CONFIG: dict[str, object] = {
    "matching.numTaskqueueReadPartitions": 1,
    "matching.numTaskqueueWritePartitions": 1,
}


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(process: ManagedProcess) -> float:
    """User + system CPU time the process has used so far (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _clock_ticks()


def machine_busy_seconds() -> float:
    """Busy CPU time of all cores since boot (`/proc/stat`: everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / _clock_ticks()


@dataclass
class Cluster:
    state_dir: Path
    settings: Settings
    temporal_port: int
    webhook_port: int
    dev_server_config: dict[str, object] = field(default_factory=dict)
    sqlite_pragmas: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @classmethod
    def plan(
        cls,
        state_dir: Path,
        *,
        zendesk_requests_per_minute: int,
        sqlite_pragmas: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Cluster:
        ports = SandboxPorts(zendesk=free_port(), twilio=free_port(), klaviyo=free_port())
        temporal_port, webhook_port = free_port(), free_port()
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        base = Settings(
            _env_file=None,
            temporal_address=f"127.0.0.1:{temporal_port}",
            temporal_task_queue=queue,
            zendesk_task_queue=f"{queue}-zendesk",
            public_base_url=f"http://127.0.0.1:{webhook_port}",
            database_url=f"sqlite:///{state_dir / 'smsdesk.db'}",
            zendesk_requests_per_minute=zendesk_requests_per_minute,
            log_level="WARNING",
            **overrides,
        )
        return cls(
            state_dir=state_dir,
            settings=with_sandboxes(base, ports),
            temporal_port=temporal_port,
            webhook_port=webhook_port,
            dev_server_config=dict(DEV_SERVER_CONFIG),
            sqlite_pragmas=dict(sqlite_pragmas or {}),
        )

    def _spawn(self, name: str, args: list[str]) -> ManagedProcess:
        process = spawn(
            name,
            args,
            env=child_env(self.settings),
            log_dir=self.state_dir / "logs",
            cwd=self.state_dir,
        )
        self.processes[name] = process
        return process

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(self.settings.database_url)  # as the compose stack's migrate service
        temporal = self._spawn(
            "temporal",
            temporal_server_args(
                db_file=self.state_dir / "temporal.db",
                port=self.temporal_port,
                ui_port=free_port(),
                search_attributes=DEV_SERVER_ARGS,
                dynamic_config=self.dev_server_config,
                sqlite_pragmas=self.sqlite_pragmas,
            ),
        )
        await wait_for_port(temporal, self.temporal_port)
        sandboxes = self._spawn("sandboxes", sandboxes_args(self.settings))
        for url in (self.settings.zendesk_url, self.settings.klaviyo_base_url):
            await wait_for_port(sandboxes, httpx.URL(url).port or 0)
        webhooks = self._spawn("webhooks", webhooks_args(self.webhook_port))
        await wait_for_port(webhooks, self.webhook_port)
        self._spawn("worker", worker_args())

    async def start_bridge(self) -> str:
        """The minimal direct bridge (`bench/bridge.py`), the floor; returns its base URL."""
        port = free_port()
        script = Path(__file__).resolve().parent / "bridge.py"
        bridge = self._spawn("bridge", [sys.executable, str(script), "--port", str(port)])
        await wait_for_port(bridge, port)
        return f"http://127.0.0.1:{port}"

    def restart_worker(self, **changes: Any) -> None:
        """Stop the worker and start it again, with `changes` to its settings if any."""
        self.processes.pop("worker").stop()
        if changes:
            self.settings = self.settings.model_copy(update=changes)
        self._spawn("worker", worker_args())

    async def client(self) -> Client:
        return await Client.connect(
            self.settings.temporal_address, data_converter=pydantic_data_converter
        )

    def memory(self) -> dict[str, Memory]:
        return {name: p.memory() for name, p in self.processes.items() if p.running()}

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process, this benchmark process ("bench") and the
        whole machine ("machine": busy time of all cores, whoever used it)."""
        used = {name: cpu_seconds(p) for name, p in self.processes.items() if p.running()}
        times = os.times()
        used["bench"] = times.user + times.system
        used["machine"] = machine_busy_seconds()
        return used

    def check_alive(self) -> None:
        for process in self.processes.values():
            if not process.running():
                raise RuntimeError(f"{process.name} died:\n{process.log_tail()}")

    def stop(self) -> None:
        # The worker first, so it does not log the others going away; the server last.
        for name in ("worker", "bridge", "webhooks", "sandboxes", "temporal"):
            if name in self.processes:
                self.processes.pop(name).stop()

    # --- the sandboxes, as the outside world ---------------------------------------------------

    def url(self, service: str, path: str) -> str:
        base = {
            "zendesk": self.settings.zendesk_url,
            "twilio": self.settings.twilio_base_url,
            "klaviyo": self.settings.klaviyo_base_url,
            "webhooks": self.settings.public_base_url,
        }[service]
        return base.rstrip("/") + path

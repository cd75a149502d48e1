"""The product as the benchmark runs it: the four processes of `devstack.cluster` (Temporal dev
server, sandboxes with the Zendesk receipt log, webhook server, worker), plus what only the
bench needs: the minimal direct bridge beside them, and CPU accounting per process and for the
whole machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from devstack.cluster import Cluster
from devstack.processes import free_port
from devstack.subprocesses import ManagedProcess, wait_for_port


def plan_cluster(
    state_dir: Path,
    *,
    zendesk_requests_per_minute: int,
    sqlite_pragmas: dict[str, str] | None = None,
    **overrides: Any,
) -> Cluster:
    """The cluster on free ports, quiet (warnings only) so logging is not what is measured."""
    return Cluster.on_free_ports(
        state_dir,
        queue_prefix="bench",
        sqlite_pragmas=sqlite_pragmas,
        zendesk_requests_per_minute=zendesk_requests_per_minute,
        log_level="WARNING",
        **overrides,
    )


async def start_bridge(cluster: Cluster) -> str:
    """The minimal direct bridge (`bench/bridge.py`), the floor; returns its base URL."""
    port = free_port()
    script = Path(__file__).resolve().parent / "bridge.py"
    bridge = cluster.spawn("bridge", [sys.executable, str(script), "--port", str(port)])
    await wait_for_port(bridge, port)
    return f"http://127.0.0.1:{port}"


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


def cpu(cluster: Cluster) -> dict[str, float]:
    """CPU seconds used so far by each process, this benchmark process ("bench") and the
    whole machine ("machine": busy time of all cores, whoever used it)."""
    used = {name: cpu_seconds(p) for name, p in cluster.processes.items() if p.running()}
    times = os.times()
    used["bench"] = times.user + times.system
    used["machine"] = machine_busy_seconds()
    return used

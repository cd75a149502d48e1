"""`python worker.py --dev`: the whole product on one machine, nothing to install but pip.

Temporal's dev server is persisted to a SQLite file under the state folder, so stopping with
Ctrl-C and starting again finds the same conversations; the sandboxes keep their tickets and
texts in JSON files beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import migrations
from core.settings import get_settings
from devstack.processes import serve_app, temporal_dev_server
from devstack.sandboxes import SandboxPorts, build_sandboxes, serve_sandboxes, with_sandboxes
from infra import temporal
from infra.db import make_engine
from infra.temporal import ensure_reconcile_schedule
from service.media import zendesk_media
from service.worker import build_workers, http_client, run_workers
from webhooks.app import create_app
from workflows.search import DEV_SERVER_ARGS

log = logging.getLogger("smsdesk.dev")
TEMPORAL_PORT, UI_PORT, WEBHOOK_PORT = 7233, 8233, 8000


async def run_dev_stack(state_dir: str) -> None:
    folder = Path(state_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    ports = SandboxPorts()
    base = get_settings()
    settings = with_sandboxes(
        base.model_copy(
            update={
                "temporal_address": f"127.0.0.1:{TEMPORAL_PORT}",
                "public_base_url": f"http://127.0.0.1:{WEBHOOK_PORT}",
                "database_url": base.database_url
                if "database_url" in base.model_fields_set
                else f"sqlite:///{folder / 'smsdesk.db'}",
            }
        ),
        ports,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(
            temporal_dev_server(
                db_file=folder / "temporal.db",
                port=TEMPORAL_PORT,
                ui_port=UI_PORT,
                search_attributes=DEV_SERVER_ARGS,
                # With payloads encrypted, the UI decodes them through the webhooks' codec.
                codec_endpoint=f"{settings.public_base_url}/codec"
                if settings.pii_encryption_key
                else None,
            )
        )
        client = await temporal.connect(settings)
        migrations.upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        await ensure_reconcile_schedule(client, settings)
        sandboxes = build_sandboxes(settings, folder)
        await stack.enter_async_context(serve_sandboxes(sandboxes, ports))
        webhooks = create_app(settings, temporal=client, engine=engine, media=zendesk_media)
        await stack.enter_async_context(serve_app(webhooks, WEBHOOK_PORT))
        http = await stack.enter_async_context(http_client(settings))
        workers = run_workers(build_workers(client, settings, http=http, engine=engine))
        worker_task = asyncio.create_task(workers)
        print(_banner(settings.sms_numbers, ports, folder), flush=True)
        await asyncio.wait(
            [worker_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        print("\nstopping smsdesk...", flush=True)
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task


def _banner(numbers: list[str], ports: SandboxPorts, folder: Path) -> str:
    return "\n".join(
        [
            "",
            "smsdesk is running (Ctrl-C stops everything)",
            f"  Temporal Web UI      http://127.0.0.1:{UI_PORT}",
            f"  Temporal frontend    127.0.0.1:{TEMPORAL_PORT}",
            f"  Webhooks             http://127.0.0.1:{WEBHOOK_PORT}  (/webhooks/sms/inbound, "
            "/webhooks/sms/status, /webhooks/zendesk, /healthz)",
            f"  Sandbox Zendesk      http://127.0.0.1:{ports.zendesk}/_sandbox/tickets",
            f"  Sandbox SMS          http://127.0.0.1:{ports.twilio}/_sandbox/messages",
            f"  Sandbox Klaviyo      http://127.0.0.1:{ports.klaviyo}/_sandbox/profiles",
            f"  Account numbers      {', '.join(numbers)}",
            f"  State                {folder}",
            "",
            "Try:  python starter.py send-sms --from +15551230001 --to "
            f'{numbers[0]} "Where is my order?"',
            "",
        ]
    )

"""`python worker.py --dev`: the whole product on one machine, nothing to install but pip.

The in-process stack (`devstack/stack.py`, as the tests run it) on fixed ports, plus what only a
developer's session needs: the Temporal dev server, the reconcile schedule, Ctrl-C and a banner.

Temporal's dev server is persisted to a SQLite file under the state folder, so stopping with
Ctrl-C and starting again finds the same conversations; the sandboxes keep their tickets and
texts in JSON files beside it.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from core.settings import get_settings
from devstack.processes import temporal_dev_server
from devstack.sandboxes import SandboxPorts
from devstack.stack import in_process_stack
from infra import temporal
from infra.temporal import ensure_reconcile_schedule
from workflows.search import DEV_SERVER_ARGS

TEMPORAL_PORT, UI_PORT, WEBHOOK_PORT = 7233, 8233, 8000


async def run_dev_stack(state_dir: str) -> None:
    folder = Path(state_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    ports = SandboxPorts()
    base = get_settings()
    settings = base.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{TEMPORAL_PORT}",
            "database_url": base.database_url
            if "database_url" in base.model_fields_set
            else f"sqlite:///{folder / 'smsdesk.db'}",
        }
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with temporal_dev_server(
        db_file=folder / "temporal.db",
        port=TEMPORAL_PORT,
        ui_port=UI_PORT,
        search_attributes=DEV_SERVER_ARGS,
        # With payloads encrypted, the UI decodes them through the webhooks' codec.
        codec_endpoint=f"http://127.0.0.1:{WEBHOOK_PORT}/codec"
        if settings.pii_encryption_key
        else None,
    ):
        client = await temporal.connect(settings)
        await ensure_reconcile_schedule(client, settings)  # as `python worker.py` does
        async with in_process_stack(
            settings, ports=ports, webhook_port=WEBHOOK_PORT, client=client, state_dir=folder
        ) as stack:
            print(_banner(stack.settings.sms_numbers, ports, folder), flush=True)
            assert stack.worker_task is not None
            await asyncio.wait(
                [stack.worker_task, asyncio.create_task(stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            print("\nstopping smsdesk...", flush=True)


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

"""The three sandboxes in a process of their own: `python -m sandbox --zendesk-port 8101 ...`.

The one way to run them outside the product's process: by hand (to poke at them with curl or
point a locally run product at them) and by the benchmark, which builds these arguments from
the product's settings (`devstack.subprocesses.sandboxes_args`). The apps are `sandbox.launch`'s,
on its one credential set, as `worker.py --dev` and the tests build them in-process. SIGINT or
SIGTERM stops all three.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from sandbox.launch import Launch
from sandbox.receipts import ReceiptLog


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--zendesk-port", type=int, default=8101)
    parser.add_argument("--twilio-port", type=int, default=8102)
    parser.add_argument("--klaviyo-port", type=int, default=8103)
    parser.add_argument(
        "--state-dir", type=Path, help="keep each service's data in sandbox-<name>.json here"
    )
    parser.add_argument("--zendesk-subdomain", default="acme")
    parser.add_argument("--zendesk-webhook-url", help="where Zendesk webhooks go (none if unset)")
    parser.add_argument("--twilio-inbound-url", help="where inbound texts are posted")
    parser.add_argument(
        "--twilio-number",
        action="append",
        dest="twilio_numbers",
        help="a number the account owns (repeatable; any sender is accepted if none is given)",
    )
    parser.add_argument(
        "--receipts",
        action="store_true",
        help="log when each text's write reached Zendesk (GET /_sandbox/receipts; benchmarks)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="warnings only, no access log (benchmarks)"
    )
    return parser.parse_args(argv)


def _apps(args: argparse.Namespace) -> dict[str, tuple[ASGIApp, int]]:
    apps = Launch(
        zendesk_webhook_url=args.zendesk_webhook_url,
        twilio_inbound_url=args.twilio_inbound_url,
        twilio_numbers=args.twilio_numbers,
        state_dir=args.state_dir,
        zendesk_subdomain=args.zendesk_subdomain,
    ).apps()
    return {
        "zendesk": (_with_receipts(args.receipts, apps["zendesk"]), args.zendesk_port),
        "twilio": (apps["twilio"], args.twilio_port),
        "klaviyo": (apps["klaviyo"], args.klaviyo_port),
    }


def _with_receipts(wanted: bool, app: ASGIApp) -> ASGIApp:
    return ReceiptLog(app) if wanted else app


class _Server(uvicorn.Server):
    """Leaves SIGINT/SIGTERM to `_serve`: three servers share one loop, and each would
    otherwise take the signal handlers from the one before."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(args: argparse.Namespace) -> None:
    """All three on one event loop; SIGINT or SIGTERM stops them together."""
    servers = []
    for name, (app, port) in _apps(args).items():
        if not args.quiet:
            print(f"{name:8} sandbox: http://{args.host}:{port}  (control: /_sandbox/...)")
        config = uvicorn.Config(
            app,
            host=args.host,
            port=port,
            log_level="warning" if args.quiet else "info",
            access_log=not args.quiet,
        )
        servers.append(_Server(config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait([*tasks, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

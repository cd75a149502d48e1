"""The smsdesk worker: `python worker.py` (against TEMPORAL_ADDRESS) or `python worker.py --dev`
(the embedded stack: Temporal dev server, sandbox services, webhook server and this worker).

An entry point, imported by nothing: the workers are built by `service/worker.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from core.process import configure_logging, watch_garbage_collections
from core.settings import get_settings
from service.worker import serve


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="run the whole embedded stack")
    parser.add_argument("--state-dir", default=".smsdesk", help="where --dev keeps its files")
    args = parser.parse_args(argv)
    watch_garbage_collections()
    if args.dev:
        from devstack.dev import run_dev_stack

        configure_logging("INFO")
        asyncio.run(run_dev_stack(args.state_dir))
    else:
        settings = get_settings()
        configure_logging(settings.log_level)
        asyncio.run(serve(settings))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    # Everything has shut down by now. The SDK's Rust runtime threads can still be winding down
    # and crash interpreter finalization ("PyGILState_Release"), so leave without finalizing.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)

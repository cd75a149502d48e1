"""smsdesk's command line: drive and inspect a running stack.

    python starter.py send-sms --from +15551230001 --to +15550100001 "Where is my order?"
    python starter.py agent-reply 1001 "It ships today"
    python starter.py state --from +15551230001 --to +15550100001
    python starter.py tickets          # the sandbox Zendesk's tickets and comments
    python starter.py texts            # the texts the sandbox SMS provider sent
    python starter.py setup            # connect Zendesk, record the choices in .env (M1-M3)
    python starter.py test-integration # a test text through every hop, reported (M19)
    python starter.py reconcile        # repair what never reached a webhook (B1, B10)
    python starter.py migrate          # bring the product database's schema to head

Settings come from the environment / `.env`; with no service configured at all, the commands
talk to the embedded stack's sandboxes (`python worker.py --dev`). Once one service is
configured, each one that is not is named on stderr as a sandbox (`cli/common.py`).

The arguments are declared in `cli/commands.py`, which imports nothing heavy; each command's
module in `cli/` is imported only when it runs, so `--help` answers at once, and each command
is given only the settings it reads: `tickets` and `texts` with nothing configured build no
`Settings` at all (`tests/cli/test_quick_commands.py` holds the quick commands to this).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from cli import commands


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(description="Drive and inspect smsdesk.")
    commands.register(root.add_subparsers(dest="command", required=True))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The settings and sandboxes, only to run, and only what this command reads.
    result: int = asyncio.run(args.run(args.run.load_settings(), args))
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

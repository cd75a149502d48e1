"""The dev loop's quick commands load only what they use (issue 13: each answers in under
0.5 s). Each one runs for real in a fresh interpreter, which then lists every module it
imported; the test fails when an eager import of a heavy package comes back. No stopwatch: the
times are in the issue's note, and this machine's load is not the code's.

The commands run with nothing configured (an empty folder, no service setting in the
environment), as in the dev loop. Nothing needs to answer them: whether a dev stack happens to
listen on the sandbox ports or not, the listings import the same modules; the Temporal ones
are pointed at a closed port and have imported the SDK by the time they find it closed.
(`-X importtime` would not do: it misses what `importlib.import_module` loads, which is how
`cli/commands.py` loads each command.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import migrations

ROOT = Path(__file__).resolve().parents[2]
#: What no quick command needs: the web apps, the plots, and the sandbox's apps.
NEVER = {"fastapi", "matplotlib", "uvicorn", "sandbox.zendesk", "sandbox.twilio", "alembic"}
#: The settings and what builds them: the listings with nothing configured read two addresses.
SETTINGS = {"pydantic", "pydantic_settings", "dotenv"}
DATABASE = {"sqlalchemy", "sqlmodel"}
#: Only with PII_ENCRYPTION_KEY set.
ENCRYPTION = {"cryptography"}

PHONE = "+15551230001"
ACCOUNT = "+15550100001"
#: argv -> (packages it must not import, one it must: proof the command got to its work).
QUICK: dict[tuple[str, ...], tuple[set[str], str]] = {
    ("--help",): (
        NEVER | SETTINGS | DATABASE | {"temporalio", "httpx", "phonenumbers"},
        "cli.commands",
    ),
    ("tickets",): (
        NEVER | SETTINGS | DATABASE | {"temporalio", "phonenumbers"},
        "cli.listing",
    ),
    ("texts",): (NEVER | SETTINGS | DATABASE | {"temporalio", "phonenumbers"}, "cli.listing"),
    ("state", "--from", PHONE, "--to", ACCOUNT): (
        NEVER | DATABASE | ENCRYPTION | {"httpx"},
        "temporalio.client",
    ),
    ("find", "--phone", PHONE): (NEVER | DATABASE | ENCRYPTION | {"httpx"}, "temporalio.client"),
    ("intake",): (NEVER | ENCRYPTION | {"temporalio", "httpx", "phonenumbers"}, "intake.journal"),
}


#: Runs `starter.py` as `python starter.py ARGV` does, then writes `sys.modules` to a file.
PROBE = """
import os, runpy, sys
listing, script, *argv = sys.argv[1:]
sys.argv = [script, *argv]
sys.path[0] = os.path.dirname(script)  # as for `python starter.py`: the checkout's modules
try:
    runpy.run_path(script, run_name="__main__")
finally:
    with open(listing, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
"""


def imported(argv: tuple[str, ...], folder: Path) -> set[str]:
    """Every module `python starter.py ARGV` imports, run from `folder`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),  # no Temporal profile of the machine's user
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "DATABASE_URL": f"sqlite:///{folder / 'smsdesk.db'}",
    }
    listing = folder / "modules.txt"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), str(ROOT / "starter.py"), *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        timeout=120,
    )
    return set(listing.read_text().split())


def packages(modules: set[str]) -> set[str]:
    """The modules and every package they are in (`a.b.c` -> `a`, `a.b`, `a.b.c`)."""
    parts = (module.split(".") for module in modules)
    return {".".join(names[:n]) for names in parts for n in range(1, len(names) + 1)}


@pytest.mark.parametrize("argv", list(QUICK), ids=lambda argv: argv[0])
def test_a_quick_command_imports_only_what_it_uses(argv: tuple[str, ...], tmp_path: Path) -> None:
    migrations.upgrade(f"sqlite:///{tmp_path / 'smsdesk.db'}")  # `intake` finds it at head
    forbidden, needed = QUICK[argv]
    loaded = packages(imported(argv, tmp_path))
    assert needed in loaded
    assert sorted(forbidden & loaded) == []

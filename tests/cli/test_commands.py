"""`starter.py`'s argument parsing: every command listed by `--help` in a fresh interpreter,
without the heavy modules a command imports only when it runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import starter
from cli.commands import CONVERSATION_STATUSES
from core.messages import TicketStatus
from workflows.search import NO_TICKET

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "send-sms",
    "agent-reply",
    "state",
    "tickets",
    "texts",
    "find",
    "replay",
    "report",
    "setup",
    "test-integration",
    "reconcile",
    "intake",
    "migrate",
]
#: What only running a command needs (the times are in the issue 13 closing note).
HEAVY = [
    "temporalio",
    "sqlmodel",
    "sqlalchemy",
    "fastapi",
    "matplotlib",
    "sandbox",
    "httpx",
    "pydantic",
    "phonenumbers",
]


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "starter.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    listed = re.findall(r"^    ([a-z][\w-]*)", done.stdout, flags=re.MULTILINE)
    assert listed == COMMANDS
    assert "send a signed inbound text to the webhooks" in done.stdout


def test_parsing_imports_nothing_heavy() -> None:
    probe = (
        "import sys, starter\n"
        "starter.parser().parse_args(['find', '--status', 'solved'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_find_statuses_are_the_conversation_statuses() -> None:
    statuses = [s.value for s in TicketStatus if s is not TicketStatus.CLOSED] + [NO_TICKET]
    assert list(CONVERSATION_STATUSES) == statuses


def test_replay_help_shows_the_file_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        starter.parser().parse_args(["replay", "--help"])
    assert '{"type": "inbound_sms"' in capsys.readouterr().out

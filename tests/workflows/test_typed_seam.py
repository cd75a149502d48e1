"""The workflow↔activity seam is typed: `Calls` passes the activity method's own argument and
result types through, so `mypy --strict` refuses a wrong argument or an unknown result field.
Shown by type-checking a small workflow-side snippet, once right and once wrong."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]

RIGHT = """
from activities.zendesk import RequesterInput, ZendeskActivities
from workflows.calls import Calls

async def requester(calls: Calls, request: RequesterInput) -> int:
    result = await calls.zendesk(ZendeskActivities.ensure_requester, request)
    return result.user_id
"""

WRONG = """
from activities.zendesk import OpenTicketInput, ZendeskActivities
from workflows.calls import Calls

async def requester(calls: Calls, request: OpenTicketInput) -> int:
    result = await calls.zendesk(ZendeskActivities.ensure_requester, request)
    return result.no_such_field
"""


def _check(source: str, folder: Path) -> tuple[str, int]:
    snippet = folder / "snippet.py"
    snippet.write_text(source)
    out, err, status = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(snippet)]
    )
    return out + err, status


def test_the_right_call_type_checks_and_the_wrong_one_does_not(tmp_path: Path) -> None:
    report, status = _check(RIGHT, tmp_path)
    assert status == 0, report
    report, status = _check(WRONG, tmp_path)
    assert status == 1, report
    # mypy names the method, not the argument, as the one that does not fit: the two disagree.
    assert 'to "zendesk" of "Calls" has incompatible type' in report, report
    assert "OpenTicketInput" in report and "[arg-type]" in report, report
    assert 'has no attribute "no_such_field"' in report, report

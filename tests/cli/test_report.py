"""`starter.py report` (M21) over a stack where agents answered and solved some tickets: the
numbers come from the product database and the Zendesk sandbox, and `--plot` draws them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import starter
from tests.helpers.stack import Stack, eventually
from tests.helpers.tickets import first_ticket

ADMIN_ID = 1  # the sandbox's API user, an admin who can answer too


async def run(stack: Stack, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    args = starter.parser().parse_args(["report", *argv])
    capsys.readouterr()
    assert await args.run(stack.settings, args) == 0
    return capsys.readouterr().out


async def answered_tickets(stack: Stack) -> list[int]:
    """Three tickets: one answered by the agent and solved, one answered by the admin, one not."""
    tickets = []
    for body in ("Where is my order?", "Wrong size", "Do you ship to Canada?"):
        customer = await stack.new_customer()
        await stack.text(customer, body)
        tickets.append((customer, (await first_ticket(stack, customer))["id"]))
    (alex, solved), (admin, answered), _ = tickets
    await stack.agent_reply(solved, "It ships today", status="solved")
    await stack.agent_reply(answered, "We'll swap it", author_id=ADMIN_ID)
    for customer in (alex, admin):
        await eventually(lambda c=customer: stack.texts_to(c))
        await stack.settled(customer)
    return [ticket for _, ticket in tickets]


async def test_report_per_agent_and_tag_from_the_database_and_zendesk(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await answered_tickets(stack)
    report: dict[str, Any] = json.loads(await run(stack, capsys, "--json"))

    assert report["tickets"] == 3
    assert report["resolution_source"] == "zendesk updated_at"  # the sandbox has no metric sets
    overall = report["overall"]
    assert overall["resolved"] == 1 and overall["first_response"]["count"] == 2
    assert 0 <= overall["first_response"]["median_seconds"] < 60
    agents = {row["group"]: row["tickets"] for row in report["by_agent"]}
    assert agents == {"Alex Agent (2)": 1, "smsdesk API (1)": 1, "no reply": 1}
    tags = {row["group"]: row for row in report["by_tag"]}
    assert tags["sms"]["tickets"] == 3 and tags["sms"]["resolution"]["count"] == 1
    assert [day["tickets"] for day in report["by_day"]] == [3]

    plot = tmp_path / "report.png"
    text = await run(stack, capsys, "--by-day", "--plot", str(plot))
    assert "SMS tickets: 3, answered 2, resolved 1" in text
    assert "  Alex Agent (2)" in text and "tickets per day" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 20_000


async def test_report_without_zendesk_reads_only_the_database(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    await answered_tickets(stack)
    report = json.loads(await run(stack, capsys, "--json", "--no-zendesk"))
    assert report["tickets"] == 3 and report["resolution_source"] == "none"
    assert report["overall"]["resolved"] == 0 and report["by_tag"] == []
    assert {row["group"] for row in report["by_agent"]} == {"agent 2", "agent 1", "no reply"}
    future = json.loads(await run(stack, capsys, "--json", "--since", "2999-01-01"))
    assert future["tickets"] == 0

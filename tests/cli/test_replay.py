"""`starter.py replay` (M22 backfill): the committed 500-event sample replayed through the whole
stack must leave exactly what the generator's own model says; plus the pieces on their own."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

import starter
from cli.replay_events import Recorded, ReplayFileError, parse_lines
from cli.replay_progress import Progress
from cli.replay_run import Outcome, replay_all
from core.conversation import conversation_id
from samples import make_sample
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket

#: The sample's media URLs are made up (not the provider's): B7 names them as not attached.
MEDIA_NOTE = re.compile(r"\n\(sent with this text but not attached here: [^\n]*\)$")


async def run_replay(stack: Stack, tmp_path: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    summary_path = tmp_path / "summary.json"
    args = starter.parser().parse_args(["replay", *argv, "--summary-json", str(summary_path)])
    code: int = await args.run(stack.settings, args)
    return code, json.loads(summary_path.read_text())


def customer_text_parts(ticket: dict[str, Any]) -> list[str]:
    """The customer's texts on a ticket: each comment by the requester, split into its texts."""
    parts = []
    for comment in ticket["comments"]:
        if comment["public"] and comment["author_id"] == ticket["requester_id"]:
            # Bodies are the texts as sent (B13), with only the media note smsdesk adds.
            parts += [MEDIA_NOTE.sub("", part) for part in comment["body"].split("\n\n")]
    return parts


# --- the sample, end to end ---------------------------------------------------------------


def test_the_committed_sample_is_what_the_generator_makes() -> None:
    events, profiles, expected = make_sample.build()
    assert make_sample.EVENTS_FILE.read_text() == make_sample.render(events)
    assert json.loads(make_sample.PROFILES_FILE.read_text()) == profiles
    assert expected.events == len(events) >= 500
    assert len(parse_lines(make_sample.render(events).splitlines())) == len(events)


async def test_replaying_the_sample_leaves_what_the_model_expects(
    temporal_env: WorkflowEnvironment,
    engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, expected = make_sample.build()
    async with running_stack(temporal_env.client, engine) as stack:
        code, summary = await run_replay(
            stack, tmp_path, str(make_sample.EVENTS_FILE), "--seed-sandbox", "--concurrency", "8"
        )
        out = capsys.readouterr().out
        assert summary["errors"] == [], out
        assert code == 0 and summary["accepted"] == expected.events
        assert (
            summary["settled"] == summary["conversations"] == len(expected.tickets_by_conversation)
        )

        settings = stack.settings
        keys = {
            conversation_id(*key.split(">"), settings): key
            for key in expected.tickets_by_conversation
        }
        tickets = [t for t in await stack.tickets() if t["external_id"] in keys]
        by_conversation = Counter(keys[t["external_id"]] for t in tickets)
        assert len(tickets) == expected.tickets
        assert dict(by_conversation) == {
            k: n for k, n in expected.tickets_by_conversation.items() if n
        }

        parts = Counter(part for ticket in tickets for part in customer_text_parts(ticket))
        for body, times in Counter(expected.ticketed_texts).items():
            assert parts[body] == times, f"{body!r} is on {parts[body]} ticket comments"
        assert not [body for body in expected.unticketed_texts if parts[body]]

        customers = {key.split(">")[1] for key in keys.values()}
        response = await stack.http.get(stack.url("twilio", "/_sandbox/messages"))
        texts = [m for m in response.json()["messages"] if m["to"] in customers]
        sent = Counter(m["body"] for m in texts)
        assert all(sent[body] == 1 for body in expected.texted_replies)
        assert not [body for body in expected.untexted_replies if sent[body]]
        auto = [m["to"] for m in texts if m["body"] == settings.auto_responder_text]
        assert auto == expected.auto_responded
        assert len(texts) == len(expected.texted_replies) + len(expected.auto_responded)

        last = {keys[t["external_id"]]: t for t in sorted(tickets, key=lambda t: t["id"])}
        statuses = {
            key: "active" if t["status"] in ("new", "open") else t["status"]
            for key, t in last.items()
        }
        assert statuses == expected.final_status
        attributed = [t for t in tickets if "sms_attributed" in t["tags"]]
        assert len(attributed) == expected.attributed_tickets

        end = summary["end_state"]
        assert end["source"] == "sandboxes"
        assert end["tickets_created"] == expected.tickets
        assert end["texts_sent"] == len(texts)
        assert end["agent_comments"] == expected.public_agent_comments
        assert f"tickets created   {expected.tickets}" in out


# --- agent events as signed Zendesk webhooks; errors named in the summary ----------------


async def test_direct_zendesk_events_and_errors_in_the_summary(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customer, stranger = await stack.new_customer(), await stack.new_customer()
    lines = [
        {
            "type": "inbound_sms",
            "at": "2026-03-02T08:00:00Z",
            "from": customer,
            "to": ACCOUNT_NUMBER,
            "body": "Is it in stock?",
            "message_sid": "SMdirect0001",
        },
        {
            "type": "agent_comment",
            "at": "2026-03-02T08:05:00Z",
            "customer": customer,
            "sender": ACCOUNT_NUMBER,
            "body": "Yes, size 42 too",
            "author_id": 2,
            "status": "solved",
        },
        {
            "type": "agent_comment",
            "at": "2026-03-02T08:06:00Z",
            "customer": stranger,
            "sender": ACCOUNT_NUMBER,
            "body": "Nobody asked",
            "author_id": 2,
        },
        {
            "type": "inbound_sms",
            "at": "2026-03-02T08:07:00Z",
            "from": customer,
            "to": "+15550199999",
            "body": "Wrong number",
            "message_sid": "SMdirect0002",
        },
    ]
    path = tmp_path / "direct.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, summary = await run_replay(
        stack, tmp_path, str(path), "--direct-zendesk-events", "--wait", "5"
    )
    assert code == 1
    errors = {e["line"]: e["error"] for e in summary["errors"]}
    assert set(errors) == {3, 4}
    assert "no ticket" in errors[3] and "SMS_NUMBERS" in errors[4]
    assert "line 3 agent_comment: the conversation has no ticket" in capsys.readouterr().out

    texts = await eventually(lambda: stack.texts_to(customer))
    assert [t["body"] for t in texts] == ["Yes, size 42 too"]
    ticket = await first_ticket(stack, customer)
    # Zendesk itself was not written to: the event went straight to the webhooks.
    assert all(c["body"] != "Yes, size 42 too" for c in ticket["comments"])
    view = await stack.settled(customer)
    assert view["state"]["ticket_status"] == "solved"


async def test_a_bad_file_is_refused_before_anything_is_sent(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"type": "inbound_sms", "at": "2026-03-02T08:00:00Z", "from": "+15551230001",'
        ' "to": "+15550100001", "body": "hi", "message_sid": "SMx"}\n'
        '{"type": "telepathy", "at": "2026-03-02T08:00:00Z"}\n'
    )
    args = starter.parser().parse_args(["replay", str(path)])
    assert await args.run(stack.settings, args) == 2
    assert "line 2" in capsys.readouterr().out
    assert await stack.tickets() == []


# --- the parts on their own ---------------------------------------------------------------


def test_parse_lines_names_every_bad_line() -> None:
    good = '{"type": "status_change", "at": "2026-03-02T08:00:00Z", "customer": "+15551230001", "sender": "+15550100001", "status": "solved"}'
    with pytest.raises(ReplayFileError) as caught:
        parse_lines([good, "", "{not json", good.replace("+15551230001", "ACME"), good])
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4"]
    assert "customer" in problems[1]
    [event] = parse_lines([good])
    assert event.event.conversation == ("+15550100001", "+15551230001")


class RecordingSender:
    """A fake `EventSender` that notes when each event starts and ends."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self.running = 0
        self.most = 0

    async def send(self, recorded: Recorded) -> Outcome:
        self.running += 1
        self.most = max(self.most, self.running)
        self.log.append(("start", recorded.line))
        await asyncio.sleep(0.01 * (recorded.line % 3))
        self.log.append(("end", recorded.line))
        self.running -= 1
        failed = recorded.line == 2
        return Outcome(
            line=recorded.line,
            type=recorded.event.type,
            accepted=not failed,
            error="no" if failed else None,
        )


async def test_events_of_a_conversation_run_one_after_another_others_overlap() -> None:
    lines = []
    for n in range(30):
        customer = f"+1555123{n % 5:04d}"
        lines.append(
            json.dumps(
                {
                    "type": "status_change",
                    "at": "2026-03-02T08:00:00Z",
                    "customer": customer,
                    "sender": "+15550100001",
                    "status": "open",
                }
            )
        )
    events = parse_lines(lines)
    sender = RecordingSender()
    stream = io.StringIO()
    outcomes = await replay_all(events, sender, concurrency=3, progress=Progress(30, stream=stream))
    assert [o.line for o in outcomes] == list(range(1, 31))
    assert [o.accepted for o in outcomes].count(False) == 1
    assert sender.most == 3
    for first, second in zip(events, events[5:], strict=False):  # same customer, 5 lines apart
        assert sender.log.index(("end", first.line)) < sender.log.index(("start", second.line))
    assert (
        stream.getvalue()
        .splitlines()[-1]
        .startswith("replay [" + "#" * 30 + "] 30/30 (100%) 1 error ")
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    plain = io.StringIO()
    progress = Progress(500, stream=plain)
    for n in range(500):
        progress.advance(ok=n % 100 != 0)
    progress.close()
    lines = plain.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in plain.getvalue()
    assert lines[0].startswith("replay [###-") and " 50/500 (10%) 1 error " in lines[0]
    assert " 500/500 (100%) 5 errors " in lines[-1]

    terminal = Terminal()
    progress = Progress(3, stream=terminal)
    for _ in range(3):
        progress.advance(ok=True)
    progress.close()
    drawn = terminal.getvalue()
    assert drawn.startswith("\r") and drawn.endswith("\n") and "3/3 (100%) 0 errors" in drawn

"""`report` and `replay` reach Zendesk through the product's client with the configured
authorisation: with OAuth client credentials (no static token), the kind the README
recommends, both work against the sandbox, which issues expiring tokens to its OAuth client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import starter
from core.settings import Settings
from sandbox.zendesk_oauth import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually
from tests.helpers.tickets import first_ticket


def oauth_client_settings(stack: Stack, tmp_path: Path) -> Settings:
    """The stack's settings with the sandbox's OAuth client instead of its static token."""
    return stack.settings.model_copy(
        update={
            "zendesk_oauth_token": None,
            "zendesk_oauth_client_id": OAUTH_CLIENT_ID,
            "zendesk_oauth_client_secret": SecretStr(OAUTH_CLIENT_SECRET),
            "zendesk_oauth_token_file": str(tmp_path / "zendesk-oauth.json"),
        }
    )


async def run(settings: Settings, *argv: str) -> int:
    args = starter.parser().parse_args(argv)
    code: int = await args.run(settings, args)
    return code


async def test_report_and_replay_with_oauth_client_credentials(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = oauth_client_settings(stack, tmp_path)
    assert settings.zendesk_oauth_token is None and settings.zendesk_configured
    customer = await stack.new_customer()
    lines: list[dict[str, Any]] = [
        {
            "type": "inbound_sms",
            "at": "2026-03-02T08:00:00Z",
            "from": customer,
            "to": ACCOUNT_NUMBER,
            "body": "Is it in stock?",
            "message_sid": "SMoauth0001",
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
    ]
    path = tmp_path / "oauth.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = tmp_path / "summary.json"
    replayed = await run(
        settings, "replay", str(path), "--wait", "20", "--summary-json", str(summary)
    )
    assert replayed == 0
    assert json.loads(summary.read_text())["errors"] == []
    texts = await eventually(lambda: stack.texts_to(customer))
    assert [t["body"] for t in texts] == ["Yes, size 42 too"]
    ticket = await first_ticket(stack, customer)
    # Written through the Zendesk API (not posted to the webhooks directly).
    assert any(c["body"] == "Yes, size 42 too" for c in ticket["comments"])
    await stack.settled(customer)

    capsys.readouterr()
    assert await run(settings, "report", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["resolution_source"] == "zendesk updated_at"
    assert report["overall"]["resolved"] >= 1
    assert "sms" in {row["group"] for row in report["by_tag"]}

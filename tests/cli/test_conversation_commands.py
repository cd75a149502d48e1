"""The newcomer path through `starter.py`'s own commands, against the stack on loopback."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

import starter
from core.tables import ZendeskBudget
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually
from tests.helpers.tickets import first_ticket


async def run(stack: Stack, *argv: str) -> int:
    args = starter.parser().parse_args(argv)
    code: int = await args.run(stack.settings, args)
    return code


async def test_send_sms_agent_reply_and_state(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    assert (
        await run(
            stack, "send-sms", "--from", customer, "--to", ACCOUNT_NUMBER, "Where is my order?"
        )
        == 0
    )
    ticket = await first_ticket(stack, customer)
    assert await run(stack, "agent-reply", str(ticket["id"]), "It ships today") == 0
    texts = await eventually(lambda: stack.texts_to(customer))
    assert [(t["from"], t["body"]) for t in texts] == [(ACCOUNT_NUMBER, "It ships today")]

    await stack.settled(customer)
    capsys.readouterr()
    assert await run(stack, "state", "--from", customer, "--to", ACCOUNT_NUMBER) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["state"]["ticket_id"] == ticket["id"] and view["state"]["replies_sent"] == 1


async def test_a_commands_zendesk_requests_spend_the_workers_budgets(stack: Stack) -> None:
    """B14: the budgets hold across every process that calls Zendesk, commands included."""
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my order?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    await stack.stop_worker()  # from here on, only the command spends
    before = budget_slots(stack.engine)
    assert "update" not in before  # the worker created a ticket: no Update Ticket request yet

    assert await run(stack, "agent-reply", str(ticket["id"]), "It ships today") == 0

    after = budget_slots(stack.engine)
    assert after["account"] > before["account"]
    assert "update" in after


def budget_slots(engine: Engine) -> dict[str, float]:
    """Each shared budget's next free slot (`ZendeskBudget.next_at`), by name."""
    with Session(engine) as session:
        return {row.name: row.next_at for row in session.exec(select(ZendeskBudget))}


async def test_listings_show_the_sandboxes(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    await run(stack, "send-sms", "--from", customer, "--to", ACCOUNT_NUMBER, "Hi")
    ticket = await first_ticket(stack, customer)
    capsys.readouterr()
    assert await run(stack, "tickets", "--json") == 0
    assert "Hi" in json.loads(capsys.readouterr().out)["tickets"][0]["description"]
    assert await run(stack, "texts", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"messages": []}
    assert await run(stack, "texts") == 0
    assert capsys.readouterr().out == "the sandbox sent no texts\n"

    assert await run(stack, "tickets") == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["TICKET", "STATUS", "SUBJECT", "REQUESTER", "LAST", "COMMENT"]
    assert row.split()[:2] == [str(ticket["id"]), ticket["status"]] and row.endswith("  Hi")
    assert customer in row  # the requester, by the phone Zendesk holds for them


async def test_texts_table_cuts_long_bodies(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    await run(stack, "send-sms", "--from", customer, "--to", ACCOUNT_NUMBER, "Hello")
    ticket = await first_ticket(stack, customer)
    await run(stack, "agent-reply", str(ticket["id"]), "It ships today. " * 10)
    await eventually(lambda: stack.texts_to(customer))
    capsys.readouterr()
    assert await run(stack, "texts") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["SID", "FROM", "TO", "STATUS", "BODY"]
    [row] = [r for r in rows if customer in r]
    sid, sender, to, _, *_ = row.split()
    assert (sender, to) == (ACCOUNT_NUMBER, customer) and sid.startswith("SM")
    assert row.endswith("  " + ("It ships today. " * 4)[:49] + "…")  # 50 characters


def test_send_sms_refuses_an_alphanumeric_number() -> None:
    with pytest.raises(SystemExit):
        starter.parser().parse_args(["send-sms", "--from", "+15551230001", "--to", "ACME", "hi"])

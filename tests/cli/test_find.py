"""`starter.py find` (M22): conversations found through Temporal visibility, also under PII
protection, where neither the workflow id nor the search attributes hold a phone number."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

import starter
from cli.find import ui_link, visibility_query
from core.settings import Settings
from infra.temporal_checks import TemporalNotReady
from tests.helpers.namespaces import bare_namespace
from tests.helpers.stack import ACCOUNT_NUMBER, Stack, eventually, running_stack
from tests.helpers.tickets import first_ticket

HASH_KEY = "test-pii-hash-key-0123456789abcdef"


async def find_json(
    stack: Stack, capsys: pytest.CaptureFixture[str], *argv: str
) -> list[dict[str, Any]]:
    """Run `find --json` until visibility lists something (it lags behind new workflows)."""

    async def listed() -> list[dict[str, Any]] | None:
        args = starter.parser().parse_args(["find", "--json", *argv])
        capsys.readouterr()
        code = await args.run(stack.settings, args)
        found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
        return found if code == 0 and found else None

    return await eventually(listed)


async def test_find_by_phone_and_by_ticket(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)

    async def ticket_indexed() -> list[dict[str, Any]] | None:
        found = await find_json(stack, capsys, "--phone", customer)
        return found if found[0]["state"]["state"]["ticket_id"] == ticket["id"] else None

    [by_phone] = await eventually(ticket_indexed)
    workflow_id = stack.conversation(customer).id
    assert by_phone["workflow_id"] == workflow_id
    assert by_phone["status"] == "RUNNING"
    assert by_phone["state"]["customer_phone"] == customer
    ui = stack.settings.temporal_ui_url.rstrip("/")
    assert by_phone["ui_url"] == f"{ui}/namespaces/default/workflows/{workflow_id}"

    # Every test has a fresh sandbox Zendesk, so other tests' conversations share ticket ids.
    by_ticket = await find_json(stack, capsys, "--ticket", str(ticket["id"]))
    assert workflow_id in [found["workflow_id"] for found in by_ticket]
    [by_both] = await find_json(stack, capsys, "--phone", customer, "--sender", ACCOUNT_NUMBER)
    assert by_both["workflow_id"] == workflow_id


async def test_find_prints_id_state_and_link(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hello there")
    ticket = await first_ticket(stack, customer)
    criteria = ["--ticket", str(ticket["id"]), "--phone", customer]
    await find_json(stack, capsys, *criteria)

    args = starter.parser().parse_args(["find", *criteria])
    assert await args.run(stack.settings, args) == 0
    out = capsys.readouterr().out
    workflow_id = stack.conversation(customer).id
    header, row = out.splitlines()
    assert header.split()[:4] == ["WORKFLOW", "ID", "RUN", "STARTED"]
    assert row.split()[0] == workflow_id and row.split()[1] == "RUNNING"
    assert f" {ticket['id']} {ticket['status']} " in row
    assert row.endswith(ui_link(stack.settings, workflow_id))


async def test_find_says_when_nothing_matches(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    args = starter.parser().parse_args(["find", "--phone", "+15559999998"])
    assert await args.run(stack.settings, args) == 1
    assert "no conversation matches" in capsys.readouterr().out
    args = starter.parser().parse_args(["find"])
    assert await args.run(stack.settings, args) == 2


async def test_pii_protection_hides_the_number_and_find_still_works(
    temporal_env: WorkflowEnvironment, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(
        temporal_env.client, engine, pii_protection=True, pii_hash_key=HASH_KEY
    ) as stack:
        customer = await stack.new_customer()
        await stack.text(customer, "Is my order shipped?")
        ticket = await first_ticket(stack, customer)
        handle = stack.conversation(customer)
        digits = customer.lstrip("+")

        async def described() -> Any:
            description = await handle.describe()
            names = {pair.key.name for pair in description.typed_search_attributes}
            return description if "ZendeskTicketId" in names else None

        description = await eventually(described)
        assert digits not in handle.id and ACCOUNT_NUMBER.lstrip("+") not in handle.id
        values = {pair.key.name: pair.value for pair in description.typed_search_attributes}
        assert values["ZendeskTicketId"] == ticket["id"]
        for name in ("CustomerPhone", "SenderNumber"):
            assert len(str(values[name])) == 32 and "555" not in str(values[name])
        assert all(digits not in str(value) for value in values.values())

        [found] = await find_json(stack, capsys, "--phone", customer)
        assert found["workflow_id"] == handle.id
        assert found["state"]["state"]["ticket_id"] == ticket["id"]


async def test_find_in_a_namespace_without_the_search_attributes_names_the_fix(
    stack: Stack,
) -> None:
    namespace = await bare_namespace(stack.client, "find")
    settings = stack.settings.model_copy(update={"temporal_namespace": namespace})
    args = starter.parser().parse_args(["find", "--phone", "+15559999997"])

    async def searched() -> None:  # retried while the new namespace reaches the frontend
        await args.run(settings, args)

    with pytest.raises(TemporalNotReady) as refused:
        await eventually(searched)
    assert f"search-attribute create --namespace {namespace} --name CustomerPhone" in str(
        refused.value
    )


def test_query_hashes_numbers_under_pii_protection() -> None:
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    protected = Settings(
        _env_file=None,  # type: ignore[call-arg]
        pii_protection=True,
        pii_hash_key=SecretStr(HASH_KEY),
    )
    assert visibility_query(plain, phone="+15551230001", ticket_id=7) == (
        "WorkflowType = 'SmsConversation' AND CustomerPhone = '+15551230001' "
        "AND ZendeskTicketId = 7"
    )
    hidden = visibility_query(protected, phone="+15551230001", sender="+15550100001")
    assert "15551230001" not in hidden and "15550100001" not in hidden
    assert hidden.count("'") == 6  # three quoted literals: the type and two 32-char hashes
    assert visibility_query(plain, status="it's").endswith("ConversationStatus = 'it''s'")

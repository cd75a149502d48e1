"""The worker's start checks: a missing namespace, and a search attribute missing or of the
wrong type, end it with the command that fixes each; the dev server as set up passes."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.temporal_checks import TemporalNotReady, check_temporal
from tests.helpers.namespaces import bare_namespace


async def test_the_dev_server_as_set_up_passes(temporal_env: WorkflowEnvironment) -> None:
    await check_temporal(temporal_env.client, "default")


async def test_a_missing_namespace_is_named_with_its_create_command(
    temporal_env: WorkflowEnvironment,
) -> None:
    with pytest.raises(TemporalNotReady, match="temporal operator namespace create --namespace"):
        await check_temporal(temporal_env.client, f"nope-{uuid.uuid4().hex[:6]}")


async def test_missing_and_mistyped_search_attributes_are_named_with_their_fix(
    temporal_env: WorkflowEnvironment,
) -> None:
    client: Client = temporal_env.client
    namespace = await bare_namespace(client, "checks")
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={"CustomerPhone": IndexedValueType.INDEXED_VALUE_TYPE_TEXT},
        )
    )
    with pytest.raises(TemporalNotReady) as raised:
        await check_temporal(client, namespace)
    message = str(raised.value)
    # Missing: its create command. Mistyped: remove, then create.
    assert f"--namespace {namespace} --name ZendeskTicketId --type Int" in message
    assert "CustomerPhone is registered as Text, smsdesk needs Keyword" in message
    assert f"search-attribute remove --namespace {namespace} --name CustomerPhone" in message

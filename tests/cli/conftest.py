from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import stack  # noqa: F401  (the whole stack on loopback)
from tests.helpers.zendesk_setup import Zendesk, zendesk_sandbox


@pytest.fixture
async def zendesk() -> AsyncIterator[Zendesk]:
    """The sandbox Zendesk alone, on loopback, for the set-up commands."""
    async with zendesk_sandbox() as running:
        yield running

"""The stack after `cp .env.example .env`, resolved once by the real Compose client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.compose import ENV_EXAMPLE, ResolvedStack, resolve, stack_copy


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> ResolvedStack:
    return resolve(stack_copy(tmp_path_factory.mktemp("stack"), ENV_EXAMPLE.read_text()))


@pytest.fixture(scope="session")
def services(stack: ResolvedStack) -> dict[str, dict[str, Any]]:
    return stack.services

"""LOG_LEVEL reaches the root logger; per-request library lines only show at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.process import CHATTY_LOGGERS, configure_logging


@pytest.fixture(autouse=True)
def _restore_levels() -> Iterator[None]:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in CHATTY_LOGGERS)]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_log_level_is_applied_and_request_lines_are_kept_quiet() -> None:
    configure_logging("WARNING")
    assert logging.getLogger("smsdesk.worker").getEffectiveLevel() == logging.WARNING

    configure_logging("INFO")
    assert logging.getLogger("smsdesk.worker").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def test_debug_shows_every_request() -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)

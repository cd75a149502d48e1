"""LOG_LEVEL reaches the root logger; per-request library lines only show at DEBUG; start-up
objects leave the collector's full passes, start-up garbage is freed first."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator

import pytest

from core.process import CHATTY_LOGGERS, configure_logging, freeze_start_up_objects


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


class _Node:
    me: _Node


@pytest.fixture
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test runner goes on collecting as before


@pytest.mark.usefixtures("_unfrozen")
def test_start_up_objects_are_frozen_and_start_up_garbage_is_freed() -> None:
    kept: list[list[int]] = [[] for _ in range(1000)]
    cycle = _Node()
    cycle.me = cycle
    freed = weakref.ref(cycle)
    del cycle
    before = gc.get_freeze_count()

    freeze_start_up_objects()

    assert freed() is None
    assert gc.get_freeze_count() >= before + len(kept)

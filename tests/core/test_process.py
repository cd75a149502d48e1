"""LOG_LEVEL reaches the root logger; per-request library lines only show at DEBUG; start-up
objects leave the collector's full passes, start-up garbage is freed first; collections are
timed, and long ones logged."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from core.process import (
    CHATTY_LOGGERS,
    configure_logging,
    freeze_start_up_objects,
    watch_garbage_collections,
)


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


def _full_passes(sample: str) -> float:
    value = REGISTRY.get_sample_value(f"smsdesk_gc_pause_seconds_{sample}", {"generation": "2"})
    return value or 0.0


@pytest.fixture
def _watched() -> Iterator[None]:
    """The test's collections only: the runner's own neither run meanwhile nor stay timed."""
    before = list(gc.callbacks)
    gc.disable()  # gc.collect() still runs, and still calls the callbacks
    yield
    gc.enable()
    gc.callbacks[:] = before


@pytest.mark.usefixtures("_watched")
def test_each_collection_is_timed_once_and_a_long_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_garbage_collections(long_pause=0.0)  # every pass counts as long here
    watch_garbage_collections(long_pause=0.0)  # a second call adds no second timer
    before = _full_passes("count")
    with caplog.at_level(logging.WARNING, logger="smsdesk.process"):
        gc.collect(2)
    assert _full_passes("count") == before + 1
    assert _full_passes("sum") > 0
    [line] = [r.getMessage() for r in caplog.records if r.name == "smsdesk.process"]
    assert line.startswith("garbage collection (generation 2) stopped the process for ")

    caplog.clear()
    watch_garbage_collections(long_pause=60.0)
    with caplog.at_level(logging.WARNING, logger="smsdesk.process"):
        gc.collect(2)
    assert not [r for r in caplog.records if r.name == "smsdesk.process"]

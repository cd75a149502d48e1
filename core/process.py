"""How a long-running smsdesk process (worker, webhooks) sets up its logging (LOG_LEVEL, with
the per-request lines of the HTTP library kept for DEBUG) and its garbage collector.

The worker keeps the collector's defaults on purpose: raising its thresholds (and
`gc.freeze()`) cut its share of the worker's CPU from 5% to 1% at 50 texts/s, but with 10,000
conversations the worker then held 940 MB instead of 339 MB: evicted workflows' reference
cycles waited too long for a full collection. The webhook process has no such cycles and
answers in milliseconds, so it freezes what start-up made (`freeze_start_up_objects`).
Both time their collections (`watch_garbage_collections`): a full pass stops every workflow
task or request in flight, and its length grows with what the process holds."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from core.telemetry import GC_PAUSES

#: Libraries that log every request at INFO: a line per Zendesk, Twilio and Klaviyo call, 50 a
#: second under load. LOG_LEVEL=DEBUG shows them.
CHATTY_LOGGERS = ("httpx", "httpcore")

#: A collection that stops the process this long is logged: long enough to show in a text's
#: way to Zendesk, rare enough (full passes) not to flood the log.
LONG_GC_PAUSE_SECONDS = 0.2

log = logging.getLogger("smsdesk.process")


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Set apart from basicConfig, which changes nothing once the root logger has a handler.
    logging.getLogger().setLevel(level)
    quieter = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quieter)


def freeze_start_up_objects() -> None:
    """Leave what start-up made out of the collector's full passes, once set-up is done.

    Imports and set-up leave a few hundred thousand objects that live as long as the process,
    and every full collection walks them all: in the webhook process, 190-295 ms pauses during
    a reply storm (`bench/run.py --mode storm`, measured with `gc.callbacks`), which every
    request in flight waited out: they were the storm's p99. Objects made afterwards are
    collected as before, and full collections come less often (CPython counts the frozen
    objects as the long-lived population new ones are measured against).
    """
    gc.collect()  # garbage left by start-up is freed, not frozen for good
    gc.freeze()


class _CollectionTimer:
    """A `gc.callbacks` entry: each collection's length goes to `GC_PAUSES`; a long one is
    logged with what it found, so a slow text can be matched with the pause it waited out."""

    def __init__(self, long_pause: float) -> None:
        self.long_pause = long_pause
        self._started = 0.0
        # Made now: the callback must not build metric children (under their lock) mid-pass.
        self._pauses = [GC_PAUSES.labels(str(generation)) for generation in range(3)]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        self._pauses[info["generation"]].observe(seconds)
        if seconds >= self.long_pause:
            log.warning(
                "garbage collection (generation %d) stopped the process for %.0f ms, "
                "freeing %d objects",
                info["generation"],
                seconds * 1000,
                info["collected"],
            )


def watch_garbage_collections(long_pause: float = LONG_GC_PAUSE_SECONDS) -> None:
    """Time every collection of this process (once per process: a second call only moves the
    threshold for logging)."""
    for callback in gc.callbacks:
        if isinstance(callback, _CollectionTimer):
            callback.long_pause = long_pause
            return
    gc.callbacks.append(_CollectionTimer(long_pause))

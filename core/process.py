"""How a long-running smsdesk process (worker, webhooks) sets itself up: logging at LOG_LEVEL,
and a garbage collector tuned for a heap that is mostly long-lived."""

from __future__ import annotations

import gc
import logging

#: Python's default (700, 10, 10) ran a full collection every few seconds under load, each
#: walking every cached workflow's objects: about 5% of the worker's CPU at 50 texts/s. These
#: cut it to about 1%; the young generation stays small (20,000 objects) and a full collection
#: still runs every few minutes, so cyclic garbage does not pile up.
GC_THRESHOLDS = (20_000, 20, 10)

#: Libraries that log every request at INFO: a line per Zendesk, Twilio and Klaviyo call, 50 a
#: second under load. LOG_LEVEL=DEBUG shows them.
CHATTY_LOGGERS = ("httpx", "httpcore")


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Set apart from basicConfig, which changes nothing once the root logger has a handler.
    logging.getLogger().setLevel(level)
    quieter = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quieter)


def tune_gc() -> None:
    """Call once start-up is done: what is alive then (modules, settings, clients) lives as
    long as the process, so the collector stops scanning it."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()

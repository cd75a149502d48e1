"""How a long-running smsdesk process (worker, webhooks) sets up its logging: LOG_LEVEL, with
the per-request lines of the HTTP library kept for DEBUG.

Python's garbage collector keeps its defaults on purpose: raising its thresholds (and
`gc.freeze()`) cut its share of the worker's CPU from 5% to 1% at 50 texts/s, but with 10,000
conversations the worker then held 940 MB instead of 339 MB: evicted workflows' reference
cycles waited too long for a full collection."""

from __future__ import annotations

import logging

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

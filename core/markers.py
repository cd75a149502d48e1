"""Markers that smsdesk puts on what it writes into Zendesk.

A retried write looks for its marker before writing again (a comment has no idempotency key),
and an agent-comment event that carries a marker was written by smsdesk itself and must never
be sent back to the customer as an SMS.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[smsdesk ref ([A-Za-z0-9:_\-.]+)\]")


def marker(key: str) -> str:
    return f"[smsdesk ref {key}]"


def with_marker(body: str, key: str) -> str:
    return f"{body}\n\n{marker(key)}"


def has_marker(body: str, key: str) -> bool:
    return marker(key) in body


def written_by_smsdesk(body: str) -> bool:
    return _MARKER.search(body) is not None

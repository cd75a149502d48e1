"""How smsdesk recognises its own writes to Zendesk, without showing agents any machinery (B13).

A comment has no idempotency key, so a retried write looks for the reference its earlier
attempt left. The reference travels in the write's audit metadata (`ticket.metadata`, which
Zendesk keeps on the audit as `metadata.custom`), never in the comment body: agents read the
customer's text exactly as it was sent.

Versions before B13 appended `[smsdesk ref <key>]` to every comment body. Those comments stay
on tickets for good, and a write retried across the upgrade (attempt 1 by an old worker,
attempt 2 by a new one) must still find its marker, so the marker is still recognised here;
nothing writes it any more.
"""

from __future__ import annotations

import re
from typing import Any

#: The key of smsdesk's reference in an audit's `metadata.custom`.
REF_FIELD = "smsdesk_ref"

_LEGACY_MARKER = re.compile(r"\[smsdesk ref ([A-Za-z0-9:_\-.]+)\]")


def audit_metadata(key: str) -> dict[str, str]:
    """The write-only `ticket.metadata` of a create or update that carries reference `key`."""
    return {REF_FIELD: key}


def has_reference(custom: dict[str, Any], key: str) -> bool:
    """Does an audit's `metadata.custom` carry reference `key`?"""
    return custom.get(REF_FIELD) == key


def legacy_marker(key: str) -> str:
    """The marker versions before B13 appended to comment bodies."""
    return f"[smsdesk ref {key}]"


def has_legacy_marker(body: str, key: str) -> bool:
    return legacy_marker(key) in body


def written_by_smsdesk(body: str) -> bool:
    """Does a comment body carry a pre-B13 marker (smsdesk wrote it)?"""
    return _LEGACY_MARKER.search(body) is not None

"""The encryption key's text form (PII_ENCRYPTION_KEY): checked by the settings at start, used
by the codec. Standard library only, so that reading the settings stays quick for the CLI."""

from __future__ import annotations

import base64
import os


def parse_key(text: str) -> bytes:
    """A key given as base64 (the form `generate_key` prints): exactly 32 bytes."""
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ValueError("PII_ENCRYPTION_KEY must be base64") from exc
    if len(key) != 32:
        raise ValueError("PII_ENCRYPTION_KEY must decode to 32 bytes (AES-256)")
    return key


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()

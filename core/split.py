"""Splitting a reply the SMS provider would refuse as too long (B12) into texts it accepts.

Twilio refuses a body over 1,600 characters (error 21617) and counts UCS-2 text in 16-bit
units: an emoji outside the Basic Multilingual Plane takes two of the 1,600. Counting UTF-16
code units is therefore never more generous than Twilio, whatever the encoding.

The conversation workflow calls `split_body` while it runs and replays, so the parts must come
out the same for the same body forever: a change to how bodies are split is a workflow change
and needs its own `workflow.patched` id (workflows/versions.py).
"""

from __future__ import annotations

#: Twilio's limit on one message body (error 21617 above it).
MAX_BODY_CHARS = 1600

# White space that marks where a line may break. No-break spaces promise the opposite.
_NO_BREAK = frozenset("\u00a0\u2007\u202f")


def provider_length(body: str) -> int:
    """How many of the provider's 1,600 characters `body` takes (UTF-16 code units)."""
    return len(body.encode("utf-16-le")) // 2


def split_body(body: str, limit: int = MAX_BODY_CHARS) -> list[str]:
    """`body` as texts of at most `limit` characters each, in reading order.

    A body that fits is returned unchanged as the only part. A longer one is cut at the last
    word boundary that fits, and the white space at each cut is dropped (a text neither starts
    nor ends with it), so joining the parts with single spaces gives the body back up to the
    white space at the cuts. A word longer than `limit` on its own is cut hard.

    There is always at least one part: a long body of nothing but white space comes back as
    one empty part, which the provider refuses as it refuses any empty body.
    """
    if limit < 2:
        raise ValueError("limit must leave room for a character outside the BMP")
    if provider_length(body) <= limit:
        return [body]
    parts: list[str] = []
    rest = body.lstrip()  # leading white space would only fill the first text
    while provider_length(rest) > limit:
        part, rest = _cut(rest, limit)
        parts.append(part)
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The first part of `text` (longer than `limit`) and what follows it."""
    fits = _fitting(text, limit)
    # A break right after the fitting prefix is a boundary too, hence `fits` inclusive. The
    # text starts with a word (see split_body), so every break found ends a non-empty part.
    for i in range(fits, 0, -1):
        if _breaks(text[i]):
            return text[:i].rstrip(), text[i:].lstrip()
    # One word longer than the limit: cut it where the limit falls.
    return text[:fits], text[fits:]


def _fitting(text: str, limit: int) -> int:
    """How many leading code points of `text` fit in `limit` provider characters."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def _breaks(char: str) -> bool:
    return char.isspace() and char not in _NO_BREAK

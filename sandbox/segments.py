"""How many SMS segments a body costs, computed as carriers (and Twilio's `num_segments`) do.

A body that fits the GSM-7 alphabet packs 160 septets in one SMS, 153 per part once it is
split (the rest carries the concatenation header); characters of the extension table take two
septets. Any other character switches the whole body to UCS-2: 70 UTF-16 units in one SMS, 67
per part, and an emoji outside the BMP takes two units.
"""

from __future__ import annotations

import math

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def gsm7_septets(body: str) -> int | None:
    """Septets the body takes in GSM-7, or None when it needs UCS-2."""
    septets = 0
    for char in body:
        if char in GSM7_BASIC:
            septets += 1
        elif char in GSM7_EXTENSION:
            septets += 2
        else:
            return None
    return septets


def segment_count(body: str) -> int:
    """Segments of one message (an empty body, e.g. media only, still counts one)."""
    septets = gsm7_septets(body)
    if septets is not None:
        units, single, part = septets, 160, 153
    else:
        units, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)

"""SMS segment counting (M20): what a text costs, the way carriers count it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

# GSM 03.38 basic set, and the extension set whose characters take two septets each.
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


class SegmentCount(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int


def count_segments(body: str) -> SegmentCount:
    """How many SMS segments `body` takes: GSM-7 160/153 per segment, UCS-2 70/67."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        single, multi = 160, 153
        units = septets
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    if units <= single:
        return SegmentCount(encoding=encoding, segments=1)
    return SegmentCount(encoding=encoding, segments=-(-units // multi))

import pytest

from core.segments import count_segments


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),  # 2 x 153
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("é" * 160, "GSM-7", 1),  # é is in the GSM basic set
        ("ç" * 70, "UCS-2", 1),  # ç (lower case) is not
        ("ç" * 71, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
        ("a" * 134 + "ç", "UCS-2", 3),  # 135 units: 3 x 67
        ("", "GSM-7", 1),
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(body: str, encoding: str, segments: int) -> None:
    count = count_segments(body)
    assert (count.encoding, count.segments) == (encoding, segments)

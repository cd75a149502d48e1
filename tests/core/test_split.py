"""B12: long replies split into texts the SMS provider accepts, at word boundaries."""

from __future__ import annotations

import re

import pytest

from core.split import MAX_BODY_CHARS, provider_length, split_body


def words(text: str) -> str:
    """The text with each run of white space made one space (what a cut may change)."""
    return re.sub(r"\s+", " ", text).strip()


def assert_well_cut(body: str, parts: list[str]) -> None:
    assert all(provider_length(part) <= MAX_BODY_CHARS for part in parts)
    assert all(part and part == part.strip() for part in parts)
    assert words(" ".join(parts)) == words(body)


def test_a_body_that_fits_is_sent_exactly_as_written() -> None:
    for body in ("", "  Hi!\n", "a" * MAX_BODY_CHARS, "word " * 320):
        assert split_body(body) == [body]


def test_exactly_1600_characters_is_one_text_and_1601_two() -> None:
    body = " ".join(["abcd"] * 320) + "e"  # ends in a word
    assert len(body) == 1600 and split_body(body) == [body]
    longer = body + "f"
    parts = split_body(longer)
    assert parts == [body[:-6], "abcdef"]
    assert_well_cut(longer, parts)


def test_cut_at_the_last_word_boundary_that_fits() -> None:
    body = "x" * 1590 + " twelve chars more"
    assert split_body(body) == ["x" * 1590 + " twelve", "chars more"]


def test_a_space_right_after_the_limit_is_a_boundary_too() -> None:
    body = "a" * 1600 + " b"
    assert split_body(body) == ["a" * 1600, "b"]


def test_the_white_space_at_the_cut_is_dropped_and_the_rest_kept() -> None:
    body = "Line one.\n\n" + "y" * 1595 + "\n\n  Line three.\tTabbed."
    parts = split_body(body)
    assert parts == ["Line one.", "y" * 1595, "Line three.\tTabbed."]


def test_about_3500_characters_become_three_texts_in_reading_order() -> None:
    body = " ".join(f"sentence{i:04d} of the reply." for i in range(130))
    assert 3000 < len(body) <= 3600
    parts = split_body(body)
    assert len(parts) == 3
    assert_well_cut(body, parts)
    numbers = [int(n) for n in re.findall(r"sentence(\d{4})", " ".join(parts))]
    assert numbers == sorted(numbers) == list(range(130))
    assert parts[0].startswith("sentence0000") and parts[2].endswith("sentence0129 of the reply.")


def test_ucs2_text_counts_characters_as_the_provider_does() -> None:
    cyrillic = " ".join(["Здравствуйте"] * 300)  # 13 characters a word with its space
    parts = split_body(cyrillic)
    # 123 words fit (1,598 characters); the 124th would end at 1,611.
    assert [len(p) for p in parts] == [1598, 1598, len(cyrillic) - 2 * 1599]
    assert_well_cut(cyrillic, parts)


def test_an_emoji_takes_two_of_the_1600() -> None:
    body = ("ok 👍 " * 400).strip()  # 5 characters, 6 UTF-16 units, per "ok 👍 "
    parts = split_body(body)
    assert len(body) < 2000 < provider_length(body)
    assert len(parts) == 2
    assert provider_length(parts[0]) <= 1600 < provider_length(parts[0] + " ok")
    assert_well_cut(body, parts)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    url = "https://example.com/" + "a" * 3400
    body = f"See {url} for details"
    parts = split_body(body)
    assert parts == ["See", url[:1600], url[1600:3200], url[3200:] + " for details"]


def test_a_hard_cut_never_splits_an_emoji_in_two() -> None:
    body = "😀" * 1000  # 2,000 units: 800 emoji fit
    parts = split_body(body)
    assert parts == ["😀" * 800, "😀" * 200]


def test_no_break_spaces_are_no_boundaries() -> None:
    body = "a" * 1595 + " 10\u00a0000 items"  # the limit falls inside "000"
    assert split_body(body) == ["a" * 1595, "10\u00a0000 items"]


def test_leading_white_space_of_a_long_body_is_not_sent() -> None:
    body = " " * 2000 + "Hello " + "b" * 1600
    assert split_body(body) == ["Hello", "b" * 1600]
    assert split_body(" " * 2000) == [""]  # refused by the provider like any empty body


@pytest.mark.parametrize("limit", [2, 3, 10, 70])
def test_every_part_fits_for_any_limit(limit: int) -> None:
    body = "Hi 👋, your order #1234 😀😀 ships to Zürich today " * 5
    parts = split_body(body, limit)
    assert all(0 < provider_length(p) <= limit for p in parts)
    assert "".join(body.split()) == "".join("".join(parts).split())

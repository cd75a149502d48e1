"""Phone numbers: parsing to E.164 and telling real numbers from alphanumeric sender ids."""

from __future__ import annotations

import functools
import re

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number that can send or receive SMS."""


# Every inbound text parses two numbers and one of them is always the account's own: parsing
# took ~3% of the webhooks' event loop in a storm. Failures raise and are not kept.
@functools.lru_cache(maxsize=10_000)
def to_e164(raw: str) -> str:
    """Parse an international number (leading `+`) into E.164.

    Raises:
        InvalidPhoneNumber: when the text is not a valid international number.
    """
    # Imported on first use: `starter.py` parses numbers with this, and its commands that take
    # none (`--help`, `tickets`...) should not load phonenumbers' metadata (~20 ms).
    import phonenumbers

    text = raw.strip()
    if _ALPHANUMERIC_SENDER.match(text):
        raise InvalidPhoneNumber(
            f"{text!r} is an alphanumeric sender id: it can send texts but never receive them"
        )
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not an international phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def require_conversation_number(raw: str) -> str:
    """An account number that customers can text (M6), in E.164."""
    return to_e164(raw)

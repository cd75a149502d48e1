import pytest
from pydantic import ValidationError

from core.conversation import ConversationInput, conversation_id
from core.phone import InvalidPhoneNumber, to_e164
from core.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_numbers_are_normalised_to_e164() -> None:
    assert to_e164(" +1 (555) 010-0001 ") == "+15550100001"
    assert to_e164("+33 6 12 34 56 78") == "+33612345678"


@pytest.mark.parametrize("raw", ["ACME", "AcmeShop", "0612345678", "+1", "hello world"])
def test_non_numbers_and_alphanumeric_senders_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw)


def test_alphanumeric_sender_id_cannot_be_a_conversation_number() -> None:
    with pytest.raises(ValidationError, match="alphanumeric sender id"):
        settings(sms_numbers="+15550100001,ACMESHOP")


def test_sms_numbers_are_read_as_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_NUMBERS", "+1 555 010 0001, +15550100002")
    monkeypatch.setenv("ZENDESK_SMS_BRAND_ID", "")  # empty counts as unset
    loaded = settings()
    assert loaded.sms_numbers == ["+15550100001", "+15550100002"]
    assert loaded.zendesk_sms_brand_id is None


def test_pii_protection_needs_a_key_and_hides_numbers_from_ids() -> None:
    with pytest.raises(ValidationError, match="PII_HASH_KEY"):
        settings(pii_protection=True)
    plain = settings()
    protected = settings(pii_protection=True, pii_hash_key="k" * 32)
    assert conversation_id("+15550100001", "+15551230001", plain) == (
        "sms-conversation-15550100001-15551230001"
    )
    hidden = ConversationInput.for_numbers("+15550100001", "+15551230001", protected)
    assert "5551230001" not in hidden.conversation_id
    assert "5551230001" not in hidden.customer_search_value
    assert hidden.conversation_id != conversation_id("+15550100001", "+15551230002", protected)

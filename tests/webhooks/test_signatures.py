"""Signature formulas, checked against values computed independently of the product code."""

import base64
import hashlib
import hmac

from webhooks.signatures import smsdesk_signature, twilio_signature, zendesk_signature


def test_twilio_signature_is_hmac_sha1_over_url_and_sorted_fields() -> None:
    url = "https://hooks.example/webhooks/sms/inbound"
    form = {"To": "+15550100001", "Body": "Hi", "From": "+15551230001"}
    expected = base64.b64encode(
        hmac.new(
            b"token", (url + "BodyHiFrom+15551230001To+15550100001").encode(), hashlib.sha1
        ).digest()
    ).decode()
    assert twilio_signature("token", url, form) == expected


def test_twilio_signature_matches_twilios_published_example() -> None:
    # The worked example from Twilio's webhook security documentation.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", url, form) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_zendesk_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"type":"zen:event-type:ticket.created"}'
    stamp = "2026-11-21T06:00:00Z"
    expected = base64.b64encode(
        hmac.new(b"secret", stamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    assert zendesk_signature("secret", stamp, body) == expected
    assert smsdesk_signature("secret", body) != expected  # no timestamp in the outbound one

"""Bad input gets a clear error and signals nothing (401 for signatures, 422 for bodies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from devstack.sandboxes import ZENDESK_WEBHOOK_SECRET
from tests.helpers.stack import Stack
from webhooks.signatures import twilio_signature, zendesk_signature


async def no_conversation(stack: Stack, customer: str) -> bool:
    try:
        await stack.conversation(customer).describe()
    except Exception:  # RPCError NOT_FOUND: nothing was ever signalled
        return True
    return False


async def test_wrong_or_missing_twilio_signature_is_401_and_signals_nothing(stack: Stack) -> None:
    customer = await stack.new_customer()
    wrong = await stack.text(customer, "Hi", signature="bm90IGEgc2lnbmF0dXJl")
    missing = await stack.http.post(
        stack.settings.public_base_url + "/webhooks/sms/inbound",
        data={"MessageSid": "SM1", "From": customer, "To": stack.settings.sms_numbers[0]},
    )
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json() == missing.json()  # one body for every auth failure
    assert await no_conversation(stack, customer)


async def test_inbound_text_to_an_unknown_or_alphanumeric_number_is_refused(stack: Stack) -> None:
    customer = await stack.new_customer()
    unknown = await stack.text(customer, "Hi", to="+15559999999")
    branded = await stack.text(customer, "Hi", to="ACMESHOP")
    assert unknown.status_code == 422 and "SMS_NUMBERS" in unknown.json()["detail"]
    assert branded.status_code == 422 and "alphanumeric" in branded.json()["detail"]
    assert await no_conversation(stack, customer)


async def test_malformed_inbound_form_names_the_missing_field(stack: Stack) -> None:
    customer = await stack.new_customer()
    response = await stack.text(customer, "Hi", sid="")
    assert response.status_code == 422
    assert "MessageSid" in response.json()["detail"]


async def test_status_callback_with_a_garbled_text_id_is_422(stack: Stack) -> None:
    url = stack.settings.public_base_url + "/webhooks/sms/status?text_id=12x"
    form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    token = stack.settings.twilio_auth_token
    assert token is not None
    signature = twilio_signature(token.get_secret_value(), url, form)
    response = await stack.http.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 422
    assert "text_id" in response.json()["detail"]


def signed(body: bytes, *, age: timedelta = timedelta(0)) -> dict[str, str]:
    stamp = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": zendesk_signature(ZENDESK_WEBHOOK_SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


async def test_zendesk_webhook_signature_and_freshness_are_checked(stack: Stack) -> None:
    url = stack.settings.public_base_url + "/webhooks/zendesk"
    body = json.dumps({"type": "zen:event-type:ticket.comment_added"}).encode()
    tampered = signed(body)
    stale = await stack.http.post(url, content=body, headers=signed(body, age=timedelta(minutes=6)))
    forged = await stack.http.post(url, content=body + b" ", headers=tampered)
    unsigned = await stack.http.post(url, content=body)
    assert (stale.status_code, forged.status_code, unsigned.status_code) == (401, 401, 401)


async def test_malformed_zendesk_event_is_422_with_the_reason(stack: Stack) -> None:
    url = stack.settings.public_base_url + "/webhooks/zendesk"
    body = json.dumps({"type": "zen:event-type:ticket.comment_added", "id": "e1"}).encode()
    response = await stack.http.post(url, content=body, headers=signed(body))
    assert response.status_code == 422
    assert "detail" in response.json()["detail"] and "time" in response.json()["detail"]
    not_json = await stack.http.post(url, content=b"{oops", headers=signed(b"{oops"))
    assert not_json.status_code == 422


async def test_outbound_text_notice_needs_a_valid_signature_and_body(stack: Stack) -> None:
    customer = await stack.new_customer()
    url = stack.settings.public_base_url + "/webhooks/outbound"
    body = json.dumps(
        {
            "message_id": "m1",
            "kind": "campaign",
            "from": "+15550100001",
            "to": customer,
            "body": "Sale!",
            "sent_at": "2026-11-21T06:00:00Z",
        }
    ).encode()
    forged = await stack.http.post(url, content=body, headers={"X-Smsdesk-Signature": "bm9wZQ=="})
    assert forged.status_code == 401

    bad_kind = await stack.outbound(customer, "Sale!", sent_at=datetime.now(UTC), kind="newsletter")
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["detail"]
    foreign = await stack.outbound(
        customer, "Sale!", sent_at=datetime.now(UTC), sender="+15559999999"
    )
    assert foreign.status_code == 422 and "SMS_NUMBERS" in foreign.json()["detail"]
    assert await no_conversation(stack, customer)

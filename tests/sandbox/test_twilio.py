"""SMS provider sandbox: sending, Twilio's errors, status callbacks, inbound texts, listing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.sandbox.conftest import OWNED_NUMBER, TWILIO_INBOUND, TWILIO_SID, TWILIO_TOKEN
from tests.sandbox.helpers import Received, Receiver, assert_conforms

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
CUSTOMER = "+15551230001"
CALLBACK = "https://product.test/webhooks/sms/status?conversation=abc"


def signature_is_valid(request: Received) -> bool:
    """Twilio's documented check: HMAC-SHA1 over the URL and the sorted form pairs."""
    form = request.form()
    payload = request.url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(TWILIO_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return request.headers["x-twilio-signature"] == base64.b64encode(digest).decode()


async def send(twilio: httpx.AsyncClient, **form: Any) -> httpx.Response:
    return await twilio.post(MESSAGES, data={"To": CUSTOMER, "From": OWNED_NUMBER, **form})


async def test_refuses_wrong_credentials(twilio_app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(twilio_app),
        base_url="https://api.twilio.com",
        auth=(TWILIO_SID, "wrong"),
    ) as client:
        response = await client.post(
            MESSAGES, data={"To": CUSTOMER, "From": OWNED_NUMBER, "Body": "x"}
        )
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


async def test_send_answers_a_queued_message_resource(twilio: httpx.AsyncClient) -> None:
    response = await send(twilio, Body="Your order shipped")
    assert response.status_code == 201
    message = response.json()
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    expected = {
        "account_sid": TWILIO_SID,
        "to": CUSTOMER,
        "from": OWNED_NUMBER,
        "body": "Your order shipped",
        "status": "queued",
        "num_segments": "1",
        "num_media": "0",
        "direction": "outbound-api",
        "price": None,
        "error_code": None,
        "uri": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{message['sid']}.json",
    }
    assert expected.items() <= message.items()
    assert message["date_created"].endswith(" +0000")
    assert_conforms("twilio", "POST", MESSAGES, 201, message)

    shown = await twilio.get(f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{message['sid']}.json")
    assert shown.json()["status"] == "delivered"
    assert_conforms("twilio", "GET", shown.url.path, 200, shown.json())


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("a" * 306, "2"),
        ("a" * 307, "3"),
        ("€" * 80, "1"),
        ("€" * 81, "2"),
        ("a" * 70, "1"),
        ("a" * 68 + "😀", "1"),
        ("a" * 70 + "😀", "2"),
        ("é" * 70 + "à", "1"),
        ("é" * 70 + "ç", "2"),
        ("ę" * 70, "1"),
        ("ę" * 71, "2"),
    ],
)
async def test_num_segments_counts_gsm7_and_ucs2(
    twilio: httpx.AsyncClient, body: str, segments: str
) -> None:
    assert (await send(twilio, Body=body)).json()["num_segments"] == segments


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": "5551230001"}, 21211),
        ({"From": "+15559999999"}, 21606),
        ({"Body": ""}, 21602),
        ({"Body": "x" * 1601}, 21617),
    ],
)
async def test_twilio_errors(twilio: httpx.AsyncClient, form: dict[str, str], code: int) -> None:
    response = await send(twilio, **{"Body": "hi", **form})
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


async def test_opted_out_recipient_is_21610(twilio: httpx.AsyncClient) -> None:
    await twilio.post("/_sandbox/opt_out", json={"phone": CUSTOMER})
    refused = await send(twilio, Body="hi")
    assert refused.status_code == 400
    assert refused.json() | {"more_info": ""} == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "",
        "status": 400,
    }
    await twilio.post("/_sandbox/opt_in", json={"phone": CUSTOMER})
    assert (await send(twilio, Body="hi")).status_code == 201
    assert len((await twilio.get("/_sandbox/messages")).json()["messages"]) == 1


async def test_status_callbacks_are_signed_and_ordered(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    sid = (await send(twilio, Body="hi", StatusCallback=CALLBACK)).json()["sid"]
    await twilio_app.state.sandbox.deliveries_idle()
    sent, delivered = receiver.received
    assert [sent.form()["MessageStatus"], delivered.form()["MessageStatus"]] == [
        "sent",
        "delivered",
    ]
    assert sent.url == CALLBACK
    assert {
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": OWNED_NUMBER,
        "To": CUSTOMER,
    }.items() <= delivered.form().items()
    assert "ErrorCode" not in delivered.form()
    assert signature_is_valid(sent) and signature_is_valid(delivered)


async def test_unreachable_numbers_end_undelivered(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    await twilio.post("/_sandbox/unreachable", json={"phone": CUSTOMER})
    sid = (await send(twilio, Body="hi", StatusCallback=CALLBACK)).json()["sid"]
    await twilio_app.state.sandbox.deliveries_idle()
    final = receiver.received[-1].form()
    assert (final["MessageStatus"], final["ErrorCode"]) == ("undelivered", "30003")
    shown = (await twilio.get(f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}.json")).json()
    assert (shown["status"], shown["error_code"]) == ("undelivered", 30003)


async def test_inbound_text_is_posted_signed_to_the_product(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    answer = await twilio.post(
        "/_sandbox/inbound",
        json={
            "from": CUSTOMER,
            "to": OWNED_NUMBER,
            "body": "Where is my order? 📦",
            "media_urls": ["https://media.example/photo.png"],
        },
    )
    await twilio_app.state.sandbox.deliveries_idle()
    [request] = receiver.received
    form = request.form()
    assert request.url == TWILIO_INBOUND
    assert signature_is_valid(request)
    assert form == {
        "MessageSid": answer.json()["sid"],
        "SmsMessageSid": answer.json()["sid"],
        "SmsSid": answer.json()["sid"],
        "AccountSid": TWILIO_SID,
        "From": CUSTOMER,
        "To": OWNED_NUMBER,
        "Body": "Where is my order? 📦",
        "NumMedia": "1",
        "MediaUrl0": "https://media.example/photo.png",
        "MediaContentType0": "image/png",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    assert answer.json()["sid"].startswith("MM")


async def test_stop_and_start_keywords_change_the_opt_out_list(
    twilio: httpx.AsyncClient,
) -> None:
    await twilio.post(
        "/_sandbox/inbound", json={"from": CUSTOMER, "to": OWNED_NUMBER, "body": " stop "}
    )
    assert (await send(twilio, Body="hi")).json()["code"] == 21610
    await twilio.post(
        "/_sandbox/inbound", json={"from": CUSTOMER, "to": OWNED_NUMBER, "body": "START"}
    )
    assert (await send(twilio, Body="hi")).status_code == 201


async def test_inbound_needs_a_webhook_url(twilio: httpx.AsyncClient) -> None:
    await twilio.post("/_sandbox/config", json={"inbound_webhook_url": None})
    response = await twilio.post("/_sandbox/inbound", json={"from": CUSTOMER, "to": OWNED_NUMBER})
    assert response.status_code == 409


async def test_list_filters_newest_first_and_pages(
    twilio: httpx.AsyncClient, twilio_app: FastAPI
) -> None:
    state = twilio_app.state.sandbox
    day = 86400
    start = 1_795_000_000 - 1_795_000_000 % day
    for offset, (to, body) in enumerate(
        [(CUSTOMER, "one"), ("+15557654321", "other"), (CUSTOMER, "two"), (CUSTOMER, "three")]
    ):
        state.clock = lambda offset=offset: start + offset * day
        await send(twilio, To=to, Body=body)

    listed = await twilio.get(MESSAGES, params={"To": CUSTOMER, "From": OWNED_NUMBER})
    assert [m["body"] for m in listed.json()["messages"]] == ["three", "two", "one"]
    assert_conforms("twilio", "GET", MESSAGES, 200, listed.json())

    since = await twilio.get(MESSAGES, params={"To": CUSTOMER, "DateSent>": "2026-11-20"})
    assert [m["body"] for m in since.json()["messages"]] == ["three", "two"]
    until = await twilio.get(MESSAGES, params={"To": CUSTOMER, "DateSent<": "2026-11-20"})
    assert [m["body"] for m in until.json()["messages"]] == ["two", "one"]
    exact = await twilio.get(MESSAGES, params={"DateSent": "2026-11-19"})
    assert [m["body"] for m in exact.json()["messages"]] == ["other"]
    after = await twilio.get(MESSAGES, params={"DateSent>": "2026-11-20T00:00:01Z"})
    assert [m["body"] for m in after.json()["messages"]] == ["three"]

    first = (await twilio.get(MESSAGES, params={"To": CUSTOMER, "PageSize": "2"})).json()
    assert ([m["body"] for m in first["messages"]], first["page"], first["page_size"]) == (
        ["three", "two"],
        0,
        2,
    )
    second = (await twilio.get(first["next_page_uri"])).json()
    assert [m["body"] for m in second["messages"]] == ["one"]
    assert second["next_page_uri"] is None
    assert (await twilio.get(MESSAGES, params={"DateSent>": "yesterday"})).status_code == 400


async def test_other_accounts_are_not_found(twilio: httpx.AsyncClient) -> None:
    other = "/2010-04-01/Accounts/AC" + "f" * 32 + "/Messages.json"
    assert (await twilio.get(other)).json()["code"] == 20404

"""The sandboxes' media, as Zendesk and Twilio handle it: upload sets, authenticated
`content_url`s and 60-minute tokens (Zendesk); customers' MMS behind Basic auth and outbound
`MediaUrl`s fetched by the provider (Twilio)."""

from __future__ import annotations

import base64

import httpx
from fastapi import FastAPI, Response

from tests.sandbox.conftest import OWNED_NUMBER, TWILIO_SID
from tests.sandbox.helpers import Receiver, assert_conforms

CUSTOMER = "+15557654321"
JPEG = b"\xff\xd8\xff\xe0 a tiny jpeg"
PNG = b"\x89PNG\r\n\x1a\n a tiny png"


async def _upload(
    zendesk: httpx.AsyncClient, name: str, content: bytes, kind: str, token: str | None = None
) -> dict[str, object]:
    query = f"filename={name}" + (f"&token={token}" if token else "")
    response = await zendesk.post(
        f"/api/v2/uploads?{query}", content=content, headers={"Content-Type": kind}
    )
    assert response.status_code == 201, response.text
    assert_conforms("zendesk", "POST", "/api/v2/uploads", 201, response.json())
    upload: dict[str, object] = response.json()["upload"]
    return upload


async def test_an_upload_set_attaches_every_file_and_serves_them_only_to_the_account(
    zendesk: httpx.AsyncClient,
) -> None:
    first = await _upload(zendesk, "photo.jpg", JPEG, "image/jpeg")
    second = await _upload(zendesk, "plan.png", PNG, "image/png", token=str(first["token"]))
    assert second["token"] == first["token"]
    assert len(second["attachments"]) == 2  # type: ignore[arg-type]
    created = await zendesk.post(
        "/api/v2/tickets",
        json={"ticket": {"comment": {"body": "see", "uploads": [first["token"]]}}},
    )
    ticket_id = created.json()["ticket"]["id"]
    comments = (await zendesk.get(f"/api/v2/tickets/{ticket_id}/comments")).json()["comments"]
    attachments = comments[0]["attachments"]
    assert [(a["file_name"], a["content_type"], a["size"]) for a in attachments] == [
        ("photo.jpg", "image/jpeg", len(JPEG)),
        ("plan.png", "image/png", len(PNG)),
    ]
    url = attachments[1]["content_url"]
    assert url.startswith("https://acme.zendesk.com/attachments/token/")
    served = await zendesk.get(url)
    assert (served.status_code, served.content) == (200, PNG)
    assert served.headers["content-type"] == "image/png"
    anonymous = await zendesk.get(url, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and PNG not in anonymous.content
    shown = await zendesk.get(f"/api/v2/attachments/{attachments[0]['id']}")
    assert_conforms("zendesk", "GET", "/api/v2/attachments/1", 200, shown.json())
    assert shown.json()["attachment"]["content_url"] == attachments[0]["content_url"]


async def test_an_upload_token_attaches_nothing_after_60_minutes(
    zendesk: httpx.AsyncClient, zendesk_app: FastAPI
) -> None:
    upload = await _upload(zendesk, "photo.jpg", JPEG, "image/jpeg")
    state = zendesk_app.state.sandbox
    now = state.clock()
    state.clock = lambda: now + 3601
    refused = await zendesk.post(
        "/api/v2/tickets",
        json={"ticket": {"comment": {"body": "late", "uploads": [upload["token"]]}}},
    )
    assert refused.status_code == 422
    assert "uploads" in refused.json()["details"]


async def test_a_customers_mms_is_posted_with_media_urls_that_need_the_account_credentials(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    sent = await twilio.post(
        "/_sandbox/inbound",
        json={
            "from": CUSTOMER,
            "to": OWNED_NUMBER,
            "body": "the box",
            "media": [
                {"content_type": "image/jpeg", "content_base64": base64.b64encode(JPEG).decode()},
                {"content_type": "image/png", "content_base64": base64.b64encode(PNG).decode()},
            ],
        },
    )
    await twilio_app.state.sandbox.deliveries_idle()
    form = receiver.received[-1].form()
    assert form["MessageSid"] == sent.json()["sid"] and form["MessageSid"].startswith("MM")
    assert (form["NumMedia"], form["MediaContentType0"], form["MediaContentType1"]) == (
        "2",
        "image/jpeg",
        "image/png",
    )
    prefix = (
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}"
        f"/Messages/{form['MessageSid']}/Media/ME"
    )
    assert form["MediaUrl0"].startswith(prefix)
    listed_path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{form['MessageSid']}/Media.json"
    listed = (await twilio.get(listed_path)).json()
    assert_conforms(
        "twilio",
        "GET",
        "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media.json",
        200,
        listed,
    )
    assert [
        ("https://api.twilio.com" + m["uri"].removesuffix(".json"), m["content_type"])
        for m in listed["media_list"]
    ] == [(form["MediaUrl0"], "image/jpeg"), (form["MediaUrl1"], "image/png")]
    fetched = await twilio.get(form["MediaUrl1"])
    assert (fetched.status_code, fetched.content) == (200, PNG)
    anonymous = await twilio.get(form["MediaUrl1"], auth=None, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and PNG not in anonymous.content


async def test_outbound_media_are_fetched_and_a_refused_url_fails_the_message(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    messages = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    good = "https://product.test/media/ok"
    bad = "https://product.test/media/forbidden"

    # The product's media URLs: one serves a picture, the other refuses (a bad signature).
    @receiver.app.get("/media/ok")
    async def ok() -> Response:
        return Response(JPEG, media_type="image/jpeg")

    @receiver.app.get("/media/forbidden")
    async def forbidden() -> Response:
        return Response(status_code=403)

    sent = await twilio.post(
        messages, data={"To": CUSTOMER, "From": OWNED_NUMBER, "Body": "look", "MediaUrl": good}
    )
    assert sent.status_code == 201
    refused = await twilio.post(
        messages, data={"To": CUSTOMER, "From": OWNED_NUMBER, "Body": "look", "MediaUrl": bad}
    )
    assert refused.status_code == 201  # accepted, then failed when the media is fetched
    shown = {m["sid"]: m for m in (await twilio.get("/_sandbox/messages")).json()["messages"]}
    assert shown[sent.json()["sid"]]["status"] == "delivered"
    assert shown[sent.json()["sid"]]["media_fetched"] == [
        {"url": good, "content_type": "image/jpeg", "size": len(JPEG)}
    ]
    failed = shown[refused.json()["sid"]]
    assert (failed["status"], failed["error_code"]) == ("failed", 11200)

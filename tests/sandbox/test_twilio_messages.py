"""The Messages list keeps every inbound text, whatever became of its webhook: a product that
missed a webhook can find the text there (`To`, `From`, `DateSent>`, `DateSent<`, paging)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from tests.sandbox.conftest import OWNED_NUMBER, TWILIO_SID
from tests.sandbox.helpers import Receiver, assert_conforms

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
CUSTOMER = "+15551230001"
OTHER_CUSTOMER = "+15551230002"


def at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02}:00:00+00:00").timestamp()


async def inbound(twilio: httpx.AsyncClient, sender: str, body: str) -> str:
    answer = await twilio.post(
        "/_sandbox/inbound", json={"from": sender, "to": OWNED_NUMBER, "body": body}
    )
    assert answer.status_code == 200, answer.text
    await twilio.post("/_sandbox/flush")
    sid: str = answer.json()["sid"]
    return sid


async def bodies(twilio: httpx.AsyncClient, url: str) -> list[str]:
    response = await twilio.get(url)
    assert response.status_code == 200, response.text
    return [m["body"] for m in response.json()["messages"]]


async def every_page(twilio: httpx.AsyncClient, url: str) -> list[list[str]]:
    pages = []
    next_url: str | None = url
    while next_url is not None:
        page: dict[str, Any] = (await twilio.get(next_url)).json()
        pages.append([m["body"] for m in page["messages"]])
        next_url = page["next_page_uri"]
    return pages


async def test_inbound_texts_are_listed_whatever_became_of_their_webhooks(
    twilio: httpx.AsyncClient, twilio_app: FastAPI, receiver: Receiver
) -> None:
    state = twilio_app.state.sandbox
    state.clock = lambda: at("2026-11-30")
    await inbound(twilio, CUSTOMER, "delivered")
    state.clock = lambda: at("2026-12-01", 0)
    receiver.answers = [500]
    await inbound(twilio, CUSTOMER, "failed")
    state.clock = lambda: at("2026-12-01", 23)
    await twilio.post("/_sandbox/config", json={"drop_next": 1})
    await inbound(twilio, CUSTOMER, "dropped")
    state.clock = lambda: at("2026-12-02")
    await twilio.post("/_sandbox/config", json={"webhooks_enabled": False})
    await inbound(twilio, CUSTOMER, "disabled")
    await inbound(twilio, OTHER_CUSTOMER, "someone else")
    await twilio.post(MESSAGES, data={"To": CUSTOMER, "From": OWNED_NUMBER, "Body": "a reply"})

    deliveries = (await twilio.get("/_sandbox/deliveries")).json()["deliveries"]
    assert [d["outcome"] for d in deliveries] == [
        "delivered",
        "failed",
        "dropped",
        "disabled",
        "disabled",
    ]
    assert [r.form()["Body"] for r in receiver.received] == ["delivered", "failed"]

    # `DateSent>=2026-12-01` in the URL is the parameter `DateSent>` (on or after that day).
    listed = await twilio.get(f"{MESSAGES}?From=%2B15551230001&DateSent>=2026-12-01")
    assert listed.status_code == 200
    assert_conforms("twilio", "GET", MESSAGES, 200, listed.json())
    messages = listed.json()["messages"]
    assert [m["body"] for m in messages] == ["disabled", "dropped", "failed"]
    for message in messages:
        assert (message["direction"], message["status"]) == ("inbound", "received")
        assert (message["from"], message["to"]) == (CUSTOMER, OWNED_NUMBER)
        assert message["date_sent"] == message["date_created"]

    everything_in = f"{MESSAGES}?To=%2B15550000001"
    assert await bodies(twilio, everything_in) == [
        "someone else",
        "disabled",
        "dropped",
        "failed",
        "delivered",
    ]
    assert await bodies(twilio, f"{MESSAGES}?From=%2B15551230001&DateSent<=2026-12-01") == [
        "dropped",
        "failed",
        "delivered",
    ]
    assert await bodies(twilio, f"{MESSAGES}?From=%2B15551230001&DateSent=2026-12-01") == [
        "dropped",
        "failed",
    ]
    assert await bodies(twilio, f"{MESSAGES}?To=%2B15551230001") == ["a reply"]
    assert await every_page(twilio, f"{everything_in}&PageSize=2") == [
        ["someone else", "disabled"],
        ["dropped", "failed"],
        ["delivered"],
    ]


async def test_next_page_uri_carries_a_token_so_new_texts_shift_nothing(
    twilio: httpx.AsyncClient, twilio_app: FastAPI
) -> None:
    state = twilio_app.state.sandbox
    for hour, body in enumerate(["one", "two", "three", "four"]):
        state.clock = lambda hour=hour: at("2026-12-01", hour)
        await inbound(twilio, CUSTOMER, body)

    first = (await twilio.get(MESSAGES, params={"From": CUSTOMER, "PageSize": 2})).json()
    assert [m["body"] for m in first["messages"]] == ["four", "three"]
    assert first["previous_page_uri"] is None
    assert "PageToken=PA" in first["next_page_uri"]
    assert first["next_page_uri"].startswith(MESSAGES + "?")
    state.clock = lambda: at("2026-12-01", 5)
    await inbound(twilio, CUSTOMER, "five")  # on top of the list, between two page reads

    second = (await twilio.get(first["next_page_uri"])).json()
    assert [m["body"] for m in second["messages"]] == ["two", "one"]
    assert (second["page"], second["next_page_uri"]) == (1, None)
    back = (await twilio.get(second["previous_page_uri"])).json()
    assert [m["body"] for m in back["messages"]] == ["four", "three"]
    assert (await twilio.get(first["first_page_uri"])).json()["messages"][0]["body"] == "five"

    bad = await twilio.get(MESSAGES, params={"PageToken": "PAnot-a-message"})
    assert (bad.status_code, bad.json()["code"]) == (400, 20001)

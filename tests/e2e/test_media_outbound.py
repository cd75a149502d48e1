"""B11 end to end: an agent's pictures reach the customer as MMS through signed, expiring
URLs that the SMS provider fetches from the webhook server; a bad or expired signature gets a
bare 403; attachments that cannot be texted are named in an internal note (B8) while the text
still goes; and a worker killed between the parts of a long reply texts the pictures once."""

from __future__ import annotations

import time
from typing import Any

from core.media_urls import signed_url
from tests.helpers.replies import (
    LONG_REPLY,
    MESSAGES,
    agent_comment_id,
    assert_whole_reply_once_in_order,
    in_flight,
    texts_at_least,
)
from tests.helpers.stack import Stack, eventually
from tests.helpers.tickets import first_ticket, internal_notes, ticket_now

PNG = b"\x89PNG\r\n\x1a\n" + b"a map to the pickup point" * 50
GIF = b"GIF89a" + b"a waving parcel" * 30
PDF = b"%PDF-1.7 the invoice"


async def ticket_for(stack: Stack, customer: str) -> dict[str, Any]:
    await stack.text(customer, "Where is my parcel?")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    return ticket


def media_url_of(stack: Stack, attachment_id: int, expires: int) -> str:
    secret = stack.settings.media_url_secret
    assert secret is not None
    return signed_url(
        stack.settings.public_base_url, secret.get_secret_value(), attachment_id, expires
    )


async def attachment_ids(stack: Stack, ticket_id: int, body: str) -> list[int]:
    ticket = await ticket_now(stack, ticket_id)
    [comment] = [c for c in ticket["comments"] if c["body"] == body]
    return [a["id"] for a in comment["attachments"]]


async def test_an_agents_picture_is_texted_as_mms_through_a_signed_url(stack: Stack) -> None:
    customer = await stack.new_customer()
    ticket = await ticket_for(stack, customer)
    await stack.agent_reply(
        ticket["id"], "Here is the pickup point", files=[("map.png", "image/png", PNG)]
    )

    [text] = await texts_at_least(stack, customer, 1)
    await stack.settled(customer)
    assert text["body"] == "Here is the pickup point"
    assert text["status"] == "delivered"
    [url] = text["media_urls"]
    assert url.startswith(stack.settings.public_base_url + "/media/")
    assert "signature=" in url and "expires=" in url
    # The provider fetched the picture itself, from the webhook server, without credentials.
    assert text["media_fetched"] == [{"url": url, "content_type": "image/png", "size": len(PNG)}]
    assert not internal_notes(await ticket_now(stack, ticket["id"]))


async def test_attachments_that_cannot_be_texted_are_noted_and_the_rest_goes(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    ticket = await ticket_for(stack, customer)
    await stack.agent_reply(
        ticket["id"],
        "Invoice and a smile",
        files=[("invoice.pdf", "application/pdf", PDF), ("wave.gif", "image/gif", GIF)],
    )

    [text] = await texts_at_least(stack, customer, 1)
    assert text["body"] == "Invoice and a smile"
    assert [m["content_type"] for m in text["media_fetched"]] == ["image/gif"]

    async def noted() -> list[str] | None:
        await stack.settled(customer)
        notes = internal_notes(await ticket_now(stack, ticket["id"]))
        return [n for n in notes if "not texted" in n] or None

    [note] = await eventually(noted)
    assert '"invoice.pdf" (application/pdf' in note
    assert "only JPEG, PNG and GIF pictures can be texted" in note
    assert "wave.gif" not in note


async def test_a_bad_or_expired_signature_gets_403_and_nothing_else(stack: Stack) -> None:
    customer = await stack.new_customer()
    ticket = await ticket_for(stack, customer)
    await stack.agent_reply(ticket["id"], "Map", files=[("map.png", "image/png", PNG)])
    await texts_at_least(stack, customer, 1)
    [attachment_id] = await attachment_ids(stack, ticket["id"], "Map")
    later = int(time.time()) + 600

    good = await stack.http.get(media_url_of(stack, attachment_id, later))
    assert (good.status_code, good.content) == (200, PNG)
    assert good.headers["content-type"] == "image/png"

    expired = media_url_of(stack, attachment_id, int(time.time()) - 1)
    tampered = media_url_of(stack, attachment_id, later).replace("signature=", "signature=x")
    other = media_url_of(stack, attachment_id, later).replace(
        f"/media/{attachment_id}?", f"/media/{attachment_id + 1}?"
    )
    unsigned = f"{stack.settings.public_base_url}/media/{attachment_id}"
    malformed = f"{stack.settings.public_base_url}/media/{attachment_id}x?expires=soon&signature=a"
    for url in (expired, tampered, other, unsigned, malformed):
        refused = await stack.http.get(url)
        assert (refused.status_code, refused.text) == (403, "Forbidden"), url
        assert PNG not in refused.content


async def test_a_worker_killed_between_parts_texts_the_picture_once_with_part_one(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    ticket = await ticket_for(stack, customer)
    await stack.arm_fault("twilio", delay_ms=1000, probability=1.0, path_contains=MESSAGES)
    await stack.agent_reply(ticket["id"], LONG_REPLY, files=[("map.png", "image/png", PNG)])

    comment_id = await agent_comment_id(stack, ticket["id"], LONG_REPLY)
    await in_flight(stack, f"reply:{comment_id}:3")  # parts 1 and 2 sent, part 3 going
    await stack.stop_worker()
    await stack.http.delete(stack.url("twilio", "/_sandbox/faults"))
    await stack.start_worker()

    await texts_at_least(stack, customer, 3)
    await stack.settled(customer)
    texts = await stack.texts_to(customer)
    assert_whole_reply_once_in_order(texts)
    assert [len(t["media_fetched"]) for t in texts] == [1, 0, 0]
    assert texts[0]["media_fetched"][0]["size"] == len(PNG)
    assert [t["status"] for t in texts] == ["delivered"] * 3

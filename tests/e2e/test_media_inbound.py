"""B7 end to end: the pictures a customer texts are attached to the text's own comment, once,
also when the comment write fails or the worker dies after the upload; media that cannot be
fetched are named on the ticket and the text still goes on it."""

from __future__ import annotations

from typing import Any

from devstack.sandboxes import ZENDESK_TOKEN
from tests.helpers.stack import Stack, eventually
from tests.helpers.tickets import first_ticket, ticket_now

JPEG = b"\xff\xd8\xff\xe0" + b"a picture of a dented box" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"a screenshot of the order" * 40
UPLOADS = "POST /api/v2/uploads"


def attachments(comment: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(a["file_name"], a["content_type"], a["size"]) for a in comment["attachments"]]


async def comment_of(stack: Stack, ticket_id: int, body: str) -> dict[str, Any]:
    """The one comment with this body, once it is there."""

    async def written() -> list[dict[str, Any]] | None:
        ticket = await ticket_now(stack, ticket_id)
        return [c for c in ticket["comments"] if c["body"].startswith(body)] or None

    [comment] = await eventually(written, timeout=90)
    return comment


async def uploads_made(stack: Stack) -> int:
    return (await stack.requests_to("zendesk")).get(UPLOADS, 0)


async def test_pictures_are_attached_to_the_texts_own_comment(stack: Stack) -> None:
    customer = await stack.new_customer()
    sid = await stack.mms(customer, "The box arrived like this", [("image/jpeg", JPEG)])
    ticket = await first_ticket(stack, customer)
    [first] = (await ticket_now(stack, ticket["id"]))["comments"]
    assert first["body"] == "The box arrived like this"  # exactly as texted, no note
    assert attachments(first) == [(f"{sid}-1.jpg", "image/jpeg", len(JPEG))]
    served = await stack.http.get(first["attachments"][0]["content_url"])
    assert served.status_code == 401  # Zendesk's content_url needs the account's credentials
    served = await stack.http.get(
        first["attachments"][0]["content_url"],
        headers={"Authorization": f"Bearer {ZENDESK_TOKEN}"},
    )
    assert (served.status_code, served.content) == (200, JPEG)

    # A later text on the open ticket: a comment of its own, with its own two pictures.
    await stack.settled(customer)
    sid = await stack.mms(customer, "And the order", [("image/jpeg", JPEG), ("image/png", PNG)])
    second = await comment_of(stack, ticket["id"], "And the order")
    assert second["body"] == "And the order"
    assert attachments(second) == [
        (f"{sid}-1.jpg", "image/jpeg", len(JPEG)),
        (f"{sid}-2.png", "image/png", len(PNG)),
    ]
    assert await uploads_made(stack) == 3


async def test_a_comment_write_that_fails_after_the_upload_attaches_the_same_uploads_once(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hello")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    # The upload goes through; the comment write after it fails once (Zendesk 503).
    await stack.arm_fault("zendesk", status=503, count=1, path_contains=f"/tickets/{ticket['id']}")
    sid = await stack.mms(customer, "Photo of the label", [("image/png", PNG)])

    comment = await comment_of(stack, ticket["id"], "Photo of the label")
    await stack.settled(customer)
    assert attachments(comment) == [(f"{sid}-1.png", "image/png", len(PNG))]
    ticket_after = await ticket_now(stack, ticket["id"])
    assert [c["body"] for c in ticket_after["comments"]] == ["Hello", "Photo of the label"]
    assert await uploads_made(stack) == 1  # the retry reused the upload's token


async def test_a_worker_killed_between_upload_and_comment_attaches_the_picture_once(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hello")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    writes = "PUT /api/v2/tickets/{ticket_id}"
    before = (await stack.requests_to("zendesk")).get(writes, 0)
    # Every request on the ticket takes two seconds: the worker dies while the comment write
    # (after the upload) is on its way.
    await stack.arm_fault(
        "zendesk", delay_ms=2000, probability=1.0, path_contains=f"/tickets/{ticket['id']}"
    )
    sid = await stack.mms(customer, "Photo of the label", [("image/jpeg", JPEG)])

    async def writing() -> bool:
        return (await stack.requests_to("zendesk")).get(writes, 0) > before

    await eventually(writing)
    assert await uploads_made(stack) == 1
    await stack.stop_worker()
    await stack.http.delete(stack.url("zendesk", "/_sandbox/faults"))
    await stack.start_worker()

    comment = await comment_of(stack, ticket["id"], "Photo of the label")
    await stack.settled(customer)
    assert attachments(comment) == [(f"{sid}-1.jpg", "image/jpeg", len(JPEG))]
    ticket_after = await ticket_now(stack, ticket["id"])
    assert [c["body"] for c in ticket_after["comments"]] == ["Hello", "Photo of the label"]
    assert await uploads_made(stack) == 1


async def test_a_worker_killed_while_the_ticket_with_the_picture_is_created_makes_one(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.arm_fault("zendesk", delay_ms=2000, probability=1.0, path_contains="/tickets")
    sid = await stack.mms(customer, "My first text, with a photo", [("image/png", PNG)])

    async def creating() -> bool:
        return (await stack.requests_to("zendesk")).get("POST /api/v2/tickets", 0) > 0

    await eventually(creating)
    await stack.stop_worker()
    await stack.http.delete(stack.url("zendesk", "/_sandbox/faults"))
    await stack.start_worker()

    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    [only] = await stack.tickets_of(customer)
    [comment] = (await ticket_now(stack, only["id"]))["comments"]
    assert only["id"] == ticket["id"]
    assert comment["body"] == "My first text, with a photo"
    assert attachments(comment) == [(f"{sid}-1.png", "image/png", len(PNG))]
    # The retried create sent the same body (same token), so Zendesk's idempotency key held.
    assert await uploads_made(stack) == 1


async def test_uploads_that_expired_while_zendesk_refused_the_write_are_uploaded_again(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    await stack.text(customer, "Hello")
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    zendesk = stack.sandboxes.zendesk.state.sandbox
    await stack.arm_fault(
        "zendesk", status=503, probability=1.0, path_contains=f"/tickets/{ticket['id']}"
    )
    sid = await stack.mms(customer, "Photo of the label", [("image/jpeg", JPEG)])
    await eventually(lambda: uploads_made(stack))
    # Zendesk stays down for over an hour: the token expires before the write goes through.
    real_clock, skipped = zendesk.clock, 3700
    zendesk.clock = lambda: real_clock() + skipped
    await stack.http.delete(stack.url("zendesk", "/_sandbox/faults"))

    comment = await comment_of(stack, ticket["id"], "Photo of the label")
    await stack.settled(customer)
    assert comment["body"] == "Photo of the label"
    assert attachments(comment) == [(f"{sid}-1.jpg", "image/jpeg", len(JPEG))]
    assert await uploads_made(stack) == 2  # the expired upload was made again


async def test_media_that_cannot_be_fetched_are_named_and_the_text_still_goes_on(
    stack: Stack,
) -> None:
    customer = await stack.new_customer()
    gone = stack.url(
        "twilio",
        f"/2010-04-01/Accounts/{stack.settings.twilio_account_sid}/Messages/MMx/Media/MEgone",
    )
    await stack.text(customer, "Here is the receipt", media=(gone,))
    ticket = await first_ticket(stack, customer)
    await stack.settled(customer)
    [comment] = (await ticket_now(stack, ticket["id"]))["comments"]
    assert comment["attachments"] == []
    assert comment["body"].startswith("Here is the receipt\n(sent with this text but not attached")
    assert "file 1: it could not be downloaded from the SMS provider (HTTP 404)" in comment["body"]

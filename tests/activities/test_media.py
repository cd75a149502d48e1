"""Media activities under ActivityEnvironment, against the Twilio and Zendesk sandboxes over
ASGI: inbound media uploaded with a matching file name, items already uploaded by an
interrupted attempt not uploaded again, and failures named rather than retried forever (B7);
which agent attachments can be texted (B11)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.agent_media import choose
from activities.media import (
    MEDIA_ATTEMPTS,
    MediaActivities,
    MediaItem,
    MediaUploadInput,
    MediaUploadResult,
)
from clients.twilio_media import TwilioMediaClient
from clients.zendesk import ZendeskAttachment, ZendeskClient
from core.media_urls import signed_url, valid
from sandbox.faults import FaultSpec
from sandbox.twilio import create_twilio_app
from sandbox.twilio_media import InboundMedia, host_inbound_media
from sandbox.zendesk import create_zendesk_app

TWILIO = "https://api.twilio.com"
ZENDESK = "https://acme.zendesk.com"
SID, TOKEN = "AC" + "0" * 32, "twilio-token"
JPEG = b"\xff\xd8 a jpeg"


@dataclasses.dataclass
class Rig:
    twilio: FastAPI
    zendesk: FastAPI
    activities: MediaActivities

    def host(self, message_sid: str, *contents: tuple[str, bytes]) -> list[MediaItem]:
        media = [
            InboundMedia(content_type=t, content_base64=base64.b64encode(c).decode())
            for t, c in contents
        ]
        hosted = host_inbound_media(self.twilio.state.sandbox, TWILIO, message_sid, media)
        return [
            MediaItem(message_sid=message_sid, index=i, url=url, content_type=kind)
            for i, (url, kind) in enumerate(hosted)
        ]

    def uploads(self) -> list[tuple[str, str, int]]:
        return [
            (a.file_name, a.content_type, a.size)
            for uploads in self.zendesk.state.sandbox.data.uploads.values()
            for a in uploads
        ]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    twilio = create_twilio_app(account_sid=SID, auth_token=TOKEN)
    zendesk = create_zendesk_app(oauth_token="z")
    mounts = {
        f"{TWILIO}": httpx.ASGITransport(twilio),
        f"{ZENDESK}": httpx.ASGITransport(zendesk),
    }
    async with httpx.AsyncClient(mounts=mounts) as http:
        media = TwilioMediaClient(http, base_url=TWILIO, account_sid=SID, auth_token=TOKEN)
        client = ZendeskClient(http, base_url=ZENDESK, authorization="Bearer z")
        yield Rig(twilio, zendesk, MediaActivities(media, client))
    await zendesk.state.sandbox.aclose()
    await twilio.state.sandbox.aclose()


def attempt(number: int, details: list[object] | None = None) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number, heartbeat_details=details or [])
    return env


async def test_each_item_is_uploaded_with_an_extension_matching_its_type(rig: Rig) -> None:
    items = rig.host("MM1", ("image/jpeg", JPEG), ("image/png", b"png"))
    result = await attempt(1).run(
        rig.activities.upload_inbound_media, MediaUploadInput(items=items)
    )
    assert [m.problem for m in result.media] == [None, None]
    assert all(m.token for m in result.media)
    assert rig.uploads() == [("MM1-1.jpg", "image/jpeg", len(JPEG)), ("MM1-2.png", "image/png", 3)]


async def test_a_retry_does_not_upload_again_what_its_heartbeat_recorded(rig: Rig) -> None:
    items = rig.host("MM2", ("image/jpeg", JPEG), ("image/gif", b"gif"))
    first = await attempt(1).run(
        rig.activities.upload_inbound_media, MediaUploadInput(items=items[:1])
    )
    progress = MediaUploadResult(media=first.media, uploaded_at=first.uploaded_at)
    retried = await attempt(2, [progress.model_dump(mode="json")]).run(
        rig.activities.upload_inbound_media, MediaUploadInput(items=items)
    )
    assert retried.media[0].token == first.media[0].token
    assert retried.uploaded_at == first.uploaded_at  # the older token's clock counts
    assert [name for name, _, _ in rig.uploads()] == ["MM2-1.jpg", "MM2-2.gif"]


async def test_a_refused_download_is_named_at_once(rig: Rig) -> None:
    gone = MediaItem(
        message_sid="MM3",
        index=0,
        url=f"{TWILIO}/2010-04-01/Accounts/{SID}/Messages/MM3/Media/MEx",
        content_type="image/png",
    )
    result = await attempt(1).run(
        rig.activities.upload_inbound_media, MediaUploadInput(items=[gone])
    )
    assert result.media[0].token is None
    assert result.media[0].problem == (
        "picture 1 (image/png): it could not be downloaded from the SMS provider (HTTP 404)"
    )


async def test_a_failing_upload_is_retried_then_named_on_the_last_attempt(rig: Rig) -> None:
    items = rig.host("MM4", ("image/jpeg", JPEG))
    faults = rig.zendesk.state.sandbox.faults
    faults.arm(FaultSpec(status=503, probability=1.0, path_contains="/uploads"))
    with pytest.raises(ApplicationError) as raised:
        await attempt(1).run(rig.activities.upload_inbound_media, MediaUploadInput(items=items))
    assert not raised.value.non_retryable
    last = await attempt(MEDIA_ATTEMPTS).run(
        rig.activities.upload_inbound_media, MediaUploadInput(items=items)
    )
    assert last.media[0].problem == (
        f"picture 1 (image/jpeg): it could not be uploaded to Zendesk after {MEDIA_ATTEMPTS}"
        " attempts (HTTP 503)"
    )


def _attachment(i: int, kind: str, size: int) -> ZendeskAttachment:
    return ZendeskAttachment(id=i, file_name=f"f{i}", content_url="u", content_type=kind, size=size)


def test_only_pictures_under_five_megabytes_together_are_texted() -> None:
    mb = 1024 * 1024
    chosen = choose(
        [
            _attachment(1, "image/png", 3 * mb),
            _attachment(2, "application/pdf", 1000),
            _attachment(3, "image/jpeg", 3 * mb),
            _attachment(4, "image/gif", mb),
        ],
        can_sign=True,
    )
    assert chosen.attachment_ids == [1, 4]
    assert [r.split(":")[0] for r in chosen.refused] == [
        '"f2" (application/pdf, 0.0 MB)',
        '"f3" (image/jpeg, 3.0 MB)',
    ]
    assert "under 5 MB together" in chosen.refused[1]
    unsigned = choose([_attachment(1, "image/png", 10)], can_sign=False)
    assert unsigned.attachment_ids == [] and "MEDIA_URL_SECRET" in unsigned.refused[0]


def test_a_media_signature_binds_attachment_and_expiry() -> None:
    url = signed_url("https://smsdesk.example", "secret", 42, 2000)
    signature = url.split("signature=")[1]
    assert url.startswith("https://smsdesk.example/media/42?expires=2000&signature=")
    assert valid("secret", 42, 2000, signature, now=1999)
    assert not valid("secret", 42, 2000, signature, now=2000)  # expired
    assert not valid("secret", 43, 2000, signature, now=1)
    assert not valid("secret", 42, 2001, signature, now=1)
    assert not valid("other", 42, 2000, signature, now=1)

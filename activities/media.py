"""A customer's MMS media, taken from the SMS provider to Zendesk's Uploads API (B7).

One activity fetches and uploads every item of a burst and returns the upload tokens; the
comment write then attaches them (`comment.uploads`). The tokens live in the workflow's
history from then on, so a comment write retried after a worker kill attaches the very same
uploads: nothing twice (the write itself is found again by its audit reference), nothing
lost. Items already uploaded by an interrupted attempt are remembered in the activity's
heartbeat details and not uploaded again; if that heartbeat never reached the server, an
upload is repeated and the first one stays unattached (Zendesk discards those).

A text is never held back by its media: an item that cannot be fetched or uploaded (a
refusal, or failures past `MEDIA_ATTEMPTS`) is reported as missing and the comment says so.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio import activity

from activities.errors import retry_decisions
from clients.errors import ApiError, RateLimited, RejectedRequest
from clients.twilio_media import ForeignMedia, MediaTooLarge, TwilioMediaClient
from clients.zendesk import ZendeskClient

#: Attempts at fetching and uploading before an item is given up (about 15 s of backoff);
#: Zendesk's 429 does not count: that is its budget speaking, not a failure.
MEDIA_ATTEMPTS = 5
#: Extensions Zendesk shows the right viewer for; others come from `mimetypes`.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/mpeg": ".mp3",
    "audio/amr": ".amr",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "application/pdf": ".pdf",
}


class MediaItem(BaseModel):
    message_sid: str
    #: Its N in `MediaUrl{N}`.
    index: int
    url: str
    #: `MediaContentType{N}`; empty when unknown (the download's type is used).
    content_type: str = ""


class MediaUploadInput(BaseModel):
    items: list[MediaItem]


class UploadedMedia(BaseModel):
    message_sid: str
    index: int
    #: The upload token, or None when the item could not be attached.
    token: str | None = None
    #: Why not, in words for agents.
    problem: str | None = None


class MediaUploadResult(BaseModel):
    media: list[UploadedMedia]
    #: When the first of these tokens was issued: they attach for 60 minutes from then.
    uploaded_at: datetime


def file_name(item: MediaItem, content_type: str) -> str:
    """`<sid>-<n>.<ext>`: Zendesk wants the extension to match the type."""
    extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"{item.message_sid}-{item.index + 1}{extension}"


def describe(item: MediaItem, content_type: str) -> str:
    kind = content_type.split("/")[0] if content_type else ""
    noun = {"image": "picture", "video": "video", "audio": "recording"}.get(kind, "file")
    return f"{noun} {item.index + 1}" + (f" ({content_type})" if content_type else "")


class MediaActivities:
    def __init__(self, media: TwilioMediaClient, zendesk: ZendeskClient) -> None:
        self._media = media
        self._zendesk = zendesk

    @activity.defn
    async def upload_inbound_media(self, request: MediaUploadInput) -> MediaUploadResult:
        """Fetch each item from the SMS provider and upload it to Zendesk."""
        info = activity.info()
        done: dict[str, UploadedMedia] = {}
        uploaded_at = datetime.now(UTC)
        if info.heartbeat_details:
            earlier = MediaUploadResult.model_validate(info.heartbeat_details[0])
            done = {_key(m.message_sid, m.index): m for m in earlier.media}
            uploaded_at = earlier.uploaded_at
        for item in request.items:
            if _key(item.message_sid, item.index) in done:
                continue
            outcome = await self._one(item, last_attempt=info.attempt >= MEDIA_ATTEMPTS)
            done[_key(item.message_sid, item.index)] = outcome
            progress = MediaUploadResult(media=list(done.values()), uploaded_at=uploaded_at)
            activity.heartbeat(progress.model_dump(mode="json"))
        ordered = [done[_key(i.message_sid, i.index)] for i in request.items]
        return MediaUploadResult(media=ordered, uploaded_at=uploaded_at)

    async def _one(self, item: MediaItem, *, last_attempt: bool) -> UploadedMedia:
        content_type = item.content_type
        step = "downloaded from the SMS provider"
        with retry_decisions():
            try:
                media = await self._media.download(item.url)
                content_type = content_type or media.content_type or "application/binary"
                step = "uploaded to Zendesk"
                upload = await self._zendesk.upload(
                    file_name=file_name(item, content_type),
                    content=media.content,
                    content_type=content_type,
                )
            except MediaTooLarge:
                return _missing(item, content_type, "it is larger than 5 MB")
            except ForeignMedia:
                return _missing(item, content_type, "its address is not the SMS provider's")
            except RateLimited:
                raise  # Zendesk's budget: waited out, however long
            except RejectedRequest as exc:
                return _missing(item, content_type, f"it could not be {step} ({_status(exc)})")
            except ApiError as exc:
                if not last_attempt:
                    raise
                why = f"it could not be {step} after {MEDIA_ATTEMPTS} attempts"
                return _missing(item, content_type, f"{why} ({_status(exc)})")
        return UploadedMedia(message_sid=item.message_sid, index=item.index, token=upload.token)


def _key(message_sid: str, index: int) -> str:
    return f"{message_sid}/{index}"


def _missing(item: MediaItem, content_type: str, why: str) -> UploadedMedia:
    return UploadedMedia(
        message_sid=item.message_sid,
        index=item.index,
        problem=f"{describe(item, content_type)}: {why}",
    )


def _status(error: ApiError) -> str:
    code = getattr(error, "status_code", None)
    return f"HTTP {code}" if code is not None else "no answer"

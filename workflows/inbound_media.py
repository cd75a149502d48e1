"""A customer's MMS media on its way to the ticket (B7), as the conversation sees it: which
items to upload, and the texts to write once they are (tokens or the reason they are not).

The upload tokens come back as an activity result, so they are in the workflow's history: a
comment write retried after a worker kill attaches the same uploads, never new ones.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.media import MediaItem, MediaUploadInput, MediaUploadResult
    from activities.uploads import UPLOADS_EXPIRED
    from activities.zendesk import CustomerText
    from core.messages import InboundSms

#: Uploads made for one burst before its media are given up (each round lasts 60 minutes
#: of failing writes; then the text goes on the ticket with the media named as missing).
UPLOAD_ROUNDS = 3
GAVE_UP = "its upload expired while Zendesk could not take the comment"


def plain_texts(burst: list[InboundSms]) -> list[CustomerText]:
    return [
        CustomerText(message_sid=t.message_sid, body=t.body, media_count=len(t.media_urls))
        for t in burst
    ]


def upload_input(burst: list[InboundSms]) -> MediaUploadInput:
    items = [
        MediaItem(
            message_sid=text.message_sid,
            index=index,
            url=url,
            content_type=text.media_types[index] if index < len(text.media_types) else "",
        )
        for text in burst
        for index, url in enumerate(text.media_urls)
    ]
    return MediaUploadInput(items=items)


def texts_with_media(burst: list[InboundSms], uploaded: MediaUploadResult) -> list[CustomerText]:
    texts = plain_texts(burst)
    for text in texts:
        mine = [m for m in uploaded.media if m.message_sid == text.message_sid]
        text.uploads = [m.token for m in mine if m.token]
        text.missing_media = [m.problem for m in mine if m.problem]
        text.uploads_issued_at = uploaded.uploaded_at
    return texts


def without_uploads(burst: list[InboundSms]) -> list[CustomerText]:
    """The texts with every item named as missing: the last resort, the text still goes."""
    texts = plain_texts(burst)
    for text, sms in zip(texts, burst, strict=True):
        text.missing_media = [f"item {i + 1}: {GAVE_UP}" for i in range(len(sms.media_urls))]
    return texts


def uploads_expired(error: ActivityError) -> bool:
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == UPLOADS_EXPIRED

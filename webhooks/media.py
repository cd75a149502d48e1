"""`GET /media/{attachment_id}`: agents' pictures for the SMS provider to fetch (B11).

The provider fetches each `MediaUrl` of an MMS without credentials, so the URL carries them:
an expiry and an HMAC over attachment id and expiry (`core.media_urls`). A missing, wrong or
expired signature gets one bare 403 (the reason goes to the log); a good one streams the
Zendesk attachment, fetched with the product's Zendesk credentials by a `MediaSource`
that the server's entry point provides (receivers never talk to Zendesk themselves).
Only the picture types smsdesk texts are ever served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse

from core.media_urls import MEDIA_PATH, valid
from webhooks.context import Receiver, receiver

log = logging.getLogger(__name__)
router = APIRouter()

SERVED_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})


@dataclass
class MediaStream:
    content_type: str
    chunks: AsyncIterator[bytes]
    length: int | None = None


class MediaUnavailable(Exception):
    """The attachment could not be fetched (gone, or Zendesk failed)."""


class MediaSource(Protocol):
    def open(self, attachment_id: int) -> AbstractAsyncContextManager[MediaStream]:
        """The attachment's bytes, streamed; raises `MediaUnavailable`."""
        ...


def _forbidden() -> Response:
    return Response("Forbidden", status_code=403, media_type="text/plain")


@router.get(MEDIA_PATH + "/{attachment_id}")
async def media(
    raw_id: Annotated[str, Path(alias="attachment_id")],
    request: Request,
    context: Annotated[Receiver, Depends(receiver)],
    expires: str = "",
    signature: str = "",
) -> Response:
    # Parsed here, not by FastAPI: malformed input gets the same bare 403, never a 422 that
    # describes what the URL should hold.
    secret = context.settings.media_url_secret
    if secret is None:
        log.warning("media %s refused: MEDIA_URL_SECRET is not set", raw_id)
        return _forbidden()
    if not (raw_id.isdigit() and expires.isdigit()):
        log.info("media %s refused: malformed URL", raw_id[:40])
        return _forbidden()
    attachment_id = int(raw_id)
    if not valid(
        secret.get_secret_value(), attachment_id, int(expires), signature, now=time.time()
    ):
        log.info("media %s refused: bad or expired signature", attachment_id)
        return _forbidden()
    source: MediaSource | None = request.app.state.media
    if source is None:
        log.error(
            "media %s: this server has no media source (run `uvicorn webapp:app`)", attachment_id
        )
        return Response("Media are not served here", status_code=503, media_type="text/plain")
    stack = AsyncExitStack()
    try:
        stream = await stack.enter_async_context(source.open(attachment_id))
    except MediaUnavailable as exc:
        await stack.aclose()
        log.warning("media %s could not be fetched from Zendesk: %s", attachment_id, exc)
        return Response("Bad Gateway", status_code=502, media_type="text/plain")
    if stream.content_type not in SERVED_TYPES:
        await stack.aclose()
        log.warning(
            "media %s refused: %s is not a picture smsdesk texts",
            attachment_id,
            stream.content_type,
        )
        return _forbidden()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream.chunks:
                yield chunk
        finally:
            await stack.aclose()

    headers = {"Cache-Control": "private, no-store"}
    if stream.length is not None:
        headers["Content-Length"] = str(stream.length)
    return StreamingResponse(body(), media_type=stream.content_type, headers=headers)

"""What the webhook server may not build itself: the Zendesk access that streams agents'
pictures to the SMS provider (B11), with the product's own Zendesk credentials (OAuth,
renewed as the worker's are, or token). `webapp.py` gives it to `webhooks.app.create_app`,
as `worker.py` runs the workers built in `service/worker.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import Engine

from clients.errors import ApiError
from clients.zendesk import ZendeskClient
from core.settings import Settings
from service.zendesk import zendesk_client
from webhooks.media import MediaStream, MediaUnavailable

#: Bytes handed on per chunk while streaming an attachment.
CHUNK = 64 * 1024


class ZendeskMedia:
    """Streams a Zendesk attachment: its details, then its `content_url`."""

    def __init__(self, zendesk: ZendeskClient) -> None:
        self._zendesk = zendesk

    @asynccontextmanager
    async def open(self, attachment_id: int) -> AsyncIterator[MediaStream]:
        try:
            attachment = await self._zendesk.get_attachment(attachment_id)
            async with self._zendesk.open_content(attachment.content_url) as response:
                length = response.headers.get("content-length")
                yield MediaStream(
                    content_type=attachment.content_type,
                    chunks=response.aiter_bytes(CHUNK),
                    length=int(length) if length and length.isdigit() else None,
                )
        except ApiError as exc:
            raise MediaUnavailable(str(exc)) from exc


@asynccontextmanager
async def zendesk_media(settings: Settings, engine: Engine) -> AsyncIterator[ZendeskMedia]:
    """The process's Zendesk access for media, with its own connection pool; its requests
    count against the budgets the workers share."""
    async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
        yield ZendeskMedia(zendesk_client(settings, http, engine))

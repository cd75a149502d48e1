"""MMS media in the SMS provider sandbox, both ways, as Twilio handles it.

Inbound: a picture a customer sends is kept by the provider and named in the webhook as
`MediaUrl{N}` (with `MediaContentType{N}`); the URL is the Media resource without `.json`, and
fetching it needs the account's HTTP Basic credentials, as Twilio enforces by default.
Outbound: each `MediaUrl` of a Messages create is fetched by the provider itself (no
credentials) once the message is queued; a URL that does not answer 2xx fails the message
with error 11200, so a bad or expired signature on a product's media URL shows up as a
failed text, as it would in production.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.responses import Response

from sandbox.twilio_state import API_VERSION, TwilioError, TwilioState, rfc2822

MAX_MEDIA_ITEMS = 10
MAX_MEDIA_BYTES = 5 * 1024 * 1024
#: Twilio's "HTTP retrieval failure": the provider could not fetch a URL it was given.
RETRIEVAL_FAILURE = 11200


class InboundMedia(BaseModel):
    """One picture (or file) a customer sends, as a test describes it."""

    content_type: str = "image/jpeg"
    content_base64: str


class FetchedMedia(BaseModel):
    """What the provider fetched for an outbound message's `MediaUrl`."""

    url: str
    content_type: str
    size: int


def media_path(account_sid: str, message_sid: str, media_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"


def host_inbound_media(
    state: TwilioState, base_url: str, message_sid: str, media: list[InboundMedia]
) -> list[tuple[str, str]]:
    """Keep a customer's media under `base_url`; returns (URL, content type) per item."""
    if len(media) > MAX_MEDIA_ITEMS:
        raise TwilioError(400, 21623, f"At most {MAX_MEDIA_ITEMS} media items per message")
    hosted = []
    for item in media:
        media_sid = "ME" + uuid.uuid4().hex
        state.media[media_sid] = (item.content_type, base64.b64decode(item.content_base64))
        state.media_of.setdefault(message_sid, []).append(media_sid)
        path = media_path(state.account_sid, message_sid, media_sid)
        hosted.append((base_url.rstrip("/") + path, item.content_type))
    return hosted


async def fetch_outbound_media(
    urls: list[str], transport: httpx.AsyncBaseTransport | None
) -> tuple[list[FetchedMedia], str | None]:
    """Fetch each URL as Twilio does before it sends an MMS; returns what was fetched and,
    if one failed, why (the message then fails with error 11200)."""
    fetched: list[FetchedMedia] = []
    async with httpx.AsyncClient(transport=transport, timeout=10) as http:
        for url in urls:
            try:
                response = await http.get(url)
            except httpx.HTTPError as exc:
                return fetched, f"{url}: {exc!r}"
            if response.status_code >= 300:
                return fetched, f"{url} answered {response.status_code}"
            content_type = response.headers.get("content-type", "").split(";")[0]
            fetched.append(
                FetchedMedia(url=url, content_type=content_type, size=len(response.content))
            )
    if sum(item.size for item in fetched) > MAX_MEDIA_BYTES:
        return fetched, "the media are larger than 5 MB together"
    return fetched, None


def add_media_routes(app: FastAPI, state: TwilioState) -> None:
    @app.get("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media.json")
    async def list_media(account_sid: str, message_sid: str) -> dict[str, Any]:
        """The Media list resource (one page: a message has at most 10)."""
        if account_sid != state.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {account_sid} was not found")
        path = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Media"
        created = rfc2822(state.clock())
        media = [
            {
                "account_sid": account_sid,
                "content_type": state.media[media_sid][0],
                "date_created": created,
                "date_updated": created,
                "parent_sid": message_sid,
                "sid": media_sid,
                "uri": f"{path}/{media_sid}.json",
            }
            for media_sid in state.media_of.get(message_sid, [])
        ]
        return {
            "media_list": media,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(len(media) - 1, 0),
            "uri": f"{path}.json",
            "first_page_uri": f"{path}.json?Page=0&PageSize=50",
            "next_page_uri": None,
            "previous_page_uri": None,
        }

    @app.get("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}")
    async def media_content(account_sid: str, message_sid: str, media_sid: str) -> Response:
        found = state.media.get(media_sid)
        if account_sid != state.account_sid or found is None:
            raise TwilioError(404, 20404, f"The requested resource {media_sid} was not found")
        content_type, content = found
        return Response(content, media_type=content_type)


def media_json(fetched: list[FetchedMedia]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in fetched]

"""Downloads of a customer's MMS media from the SMS provider (B7).

Twilio serves `MediaUrl{N}` only with the account's HTTP Basic credentials, and may redirect
to its CDN. Only URLs on the provider's own host (`TWILIO_BASE_URL`, or Twilio's) are
fetched: a media URL elsewhere (a replayed or hand-made event) is refused without a request,
so the worker neither sends the credentials nor fetches whatever a form names; httpx drops
the `Authorization` header when a redirect leaves the provider's host.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from clients.errors import ApiError, send

SERVICE = "sms-media"
#: Twilio's limit for all media of one message; more is refused before it is read whole.
MAX_MEDIA_BYTES = 5 * 1024 * 1024


class MediaTooLarge(ApiError):
    """The media is larger than the provider's own limit: downloading again cannot help."""


class ForeignMedia(ApiError):
    """The URL is not on the provider's host: it is not fetched at all."""


class MediaFile(BaseModel):
    content: bytes
    content_type: str


class TwilioMediaClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, account_sid: str, auth_token: str
    ) -> None:
        self._http = http
        self._origin = urlsplit(base_url).netloc
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._authorization = f"Basic {credentials}"

    def _own(self, url: str) -> bool:
        parts = urlsplit(url)
        twilio = parts.scheme == "https" and (parts.hostname or "").endswith(".twilio.com")
        return parts.netloc == self._origin or twilio

    async def download(self, url: str, *, limit: int = MAX_MEDIA_BYTES) -> MediaFile:
        """The media's bytes and content type.

        Raises:
            ForeignMedia: the URL is not the provider's.
            MediaTooLarge: over `limit` bytes.
            clients.errors.ApiError: the provider's refusal or a transport failure, typed.
        """
        if not self._own(url):
            raise ForeignMedia(SERVICE, f"{urlsplit(url).netloc} is not the provider's host")
        request = self._http.build_request(
            "GET", url, headers={"Authorization": self._authorization}
        )
        response = await send(SERVICE, self._http, request)
        while response.is_redirect and response.next_request is not None:
            response = await send(SERVICE, self._http, response.next_request)
        if len(response.content) > limit:
            raise MediaTooLarge(SERVICE, f"{url} is {len(response.content)} bytes, over {limit}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return MediaFile(content=response.content, content_type=content_type)

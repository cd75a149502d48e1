"""Downloads of a customer's MMS media from the SMS provider (B7).

Twilio serves `MediaUrl{N}` only with the account's HTTP Basic credentials, and may redirect
to its CDN. The credentials go only to the provider's own host: a media URL elsewhere (a
replayed or hand-made event) is fetched without them, and httpx drops the `Authorization`
header when a redirect leaves the host it was meant for.
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


class MediaFile(BaseModel):
    content: bytes
    content_type: str


class TwilioMediaClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, account_sid: str, auth_token: str
    ) -> None:
        self._http = http
        self._host = urlsplit(base_url).hostname
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._authorization = f"Basic {credentials}"

    def _own(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return host == self._host or host.endswith(".twilio.com")

    async def download(self, url: str, *, limit: int = MAX_MEDIA_BYTES) -> MediaFile:
        """The media's bytes and content type.

        Raises:
            MediaTooLarge: over `limit` bytes.
            clients.errors.ApiError: the provider's refusal or a transport failure, typed.
        """
        headers = {"Authorization": self._authorization} if self._own(url) else {}
        request = self._http.build_request("GET", url, headers=headers)
        response = await send(SERVICE, self._http, request)
        while response.is_redirect and response.next_request is not None:
            response = await send(SERVICE, self._http, response.next_request)
        if len(response.content) > limit:
            raise MediaTooLarge(SERVICE, f"{url} is {len(response.content)} bytes, over {limit}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return MediaFile(content=response.content, content_type=content_type)

"""Signed, expiring URLs under `PUBLIC_BASE_URL` for agents' attachments texted as MMS (B11).

The SMS provider fetches each `MediaUrl` itself, without credentials, so the URL is the
credential: an HMAC-SHA256 (secret `MEDIA_URL_SECRET`) over the attachment id and the expiry.
Anyone holding a URL gets that one picture until it expires, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

MEDIA_PATH = "/media"


def signature(secret: str, attachment_id: int, expires: int) -> str:
    message = f"{attachment_id}.{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_url(base_url: str, secret: str, attachment_id: int, expires: int) -> str:
    """The URL the provider fetches: `<base>/media/<id>?expires=<unix>&signature=<hmac>`."""
    query = urlencode({"expires": expires, "signature": signature(secret, attachment_id, expires)})
    return f"{base_url.rstrip('/')}{MEDIA_PATH}/{attachment_id}?{query}"


def valid(secret: str, attachment_id: int, expires: int, given: str, *, now: float) -> bool:
    """Whether `given` signs this attachment and expiry, and the expiry is still ahead."""
    expected = signature(secret, attachment_id, expires)
    return hmac.compare_digest(expected.encode(), given.encode()) and now < expires


class MediaUrls:
    """Signs media URLs for the texts being sent now (`PUBLIC_BASE_URL`, the secret, a TTL)."""

    def __init__(self, *, base_url: str, secret: str, ttl_seconds: int) -> None:
        self._base_url = base_url
        self._secret = secret
        self._ttl = ttl_seconds

    def url(self, attachment_id: int, *, now: float) -> str:
        return signed_url(self._base_url, self._secret, attachment_id, int(now) + self._ttl)

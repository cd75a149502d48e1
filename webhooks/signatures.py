"""Webhook signature checks, as FastAPI dependencies.

Every authentication failure answers the same 401 body, so a caller learns nothing about why;
the reason goes to the log for the operator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request

log = logging.getLogger(__name__)

#: Zendesk signs a timestamp with each delivery; older ones are refused to stop replays.
MAX_SIGNATURE_AGE = timedelta(minutes=5)
UNAUTHORIZED = HTTPException(status_code=401, detail="invalid or missing webhook signature")


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(auth token, url + each form name and value, sorted by name))."""
    payload = url + "".join(f"{name}{form[name]}" for name in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(signing secret, timestamp + raw body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def smsdesk_signature(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, raw body)), for the brand's outbound-text webhook."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def refuse(reason: str, request: Request) -> HTTPException:
    log.warning("refused webhook %s %s: %s", request.method, request.url.path, reason)
    return UNAUTHORIZED


def check_twilio(
    request: Request, form: Mapping[str, str], auth_token: str, public_base: str
) -> None:
    """Raise 401 unless `X-Twilio-Signature` matches the public URL Twilio posted to."""
    given = request.headers.get("X-Twilio-Signature")
    if not given:
        raise refuse("no X-Twilio-Signature header", request)
    url = public_base.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not hmac.compare_digest(given, twilio_signature(auth_token, url, form)):
        raise refuse(f"X-Twilio-Signature does not match {url}", request)


def check_zendesk(request: Request, body: bytes, secret: str, now: datetime | None = None) -> None:
    """Raise 401 unless the Zendesk signature matches and its timestamp is recent."""
    given = request.headers.get("X-Zendesk-Webhook-Signature")
    timestamp = request.headers.get("X-Zendesk-Webhook-Signature-Timestamp")
    if not given or not timestamp:
        raise refuse("no Zendesk signature or timestamp header", request)
    try:
        signed_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise refuse(f"unreadable signature timestamp {timestamp!r}", request) from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SIGNATURE_AGE:
        raise refuse(f"signature timestamp {timestamp} is more than 5 minutes away", request)
    if not hmac.compare_digest(given, zendesk_signature(secret, timestamp, body)):
        raise refuse("X-Zendesk-Webhook-Signature does not match", request)

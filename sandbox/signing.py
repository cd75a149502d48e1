"""Webhook signatures exactly as Zendesk and Twilio compute them.

The sandbox signs what it sends so the product's receivers are exercised with the real
algorithms; tests use the same functions to check a signature independently of the product.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


def zendesk_timestamp(moment: datetime) -> str:
    """Format a moment the way Zendesk stamps its webhooks (`2026-11-21T06:00:00Z`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`base64(HMAC-SHA256(secret, timestamp + raw_body))`, Zendesk's webhook signature."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def zendesk_headers(secret: str, body: bytes, moment: datetime) -> dict[str, str]:
    """The signature headers Zendesk adds to one webhook request."""
    timestamp = zendesk_timestamp(moment)
    return {
        ZENDESK_SIGNATURE_HEADER: zendesk_signature(secret, timestamp, body),
        ZENDESK_TIMESTAMP_HEADER: timestamp,
    }


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """`base64(HMAC-SHA1(auth_token, url + sorted name+value pairs))`, Twilio's signature.

    The URL must be the exact URL the request is sent to (query string included), because
    that is what the receiver reconstructs.
    """
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()

"""Attaching a customer's media to the text's own comment (B7): upload tokens in
`comment.uploads`, and what to do when they expired before the write went through.

Zendesk attaches an upload for 60 minutes. A write that retried for longer (an outage) fails
as `UPLOADS_EXPIRED`, never with stale tokens: the workflow uploads the media again and
writes with the fresh ones. Zendesk's own refusal of the tokens (422 on `uploads`) means
the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.exceptions import ApplicationError

from clients.errors import Unprocessable

if TYPE_CHECKING:
    from activities.zendesk import CustomerText

#: The failure type of a write whose upload tokens expired (B7): upload again, then write.
UPLOADS_EXPIRED = "UploadsExpired"
UPLOAD_TOKEN_LIFETIME = timedelta(minutes=60)
MARGIN = timedelta(minutes=5)


def comment_with_uploads(texts: list[CustomerText], body: str, author_id: int) -> dict[str, Any]:
    comment: dict[str, Any] = {"body": body, "public": True, "author_id": author_id}
    uploads = [token for text in texts for token in text.uploads]
    if uploads:
        comment["uploads"] = uploads
    return comment


def uploads_expired(texts: list[CustomerText]) -> bool:
    """Would Zendesk still attach these uploads? (A margin keeps a slow write inside.)"""
    issued = [t.uploads_issued_at for t in texts if t.uploads and t.uploads_issued_at]
    return bool(issued) and datetime.now(UTC) - min(issued) > UPLOAD_TOKEN_LIFETIME - MARGIN


def refused_uploads(error: Unprocessable) -> bool:
    """Is this 422 about `comment.uploads` (tokens expired or unknown)?"""
    try:
        details = json.loads(error.body).get("details") or {}
    except (ValueError, AttributeError):
        return False
    return "uploads" in details


def expired() -> ApplicationError:
    # The workflow uploads the media again and writes with the fresh tokens.
    return ApplicationError(
        "the media's upload tokens expired before the comment was written",
        type=UPLOADS_EXPIRED,
        non_retryable=True,
    )

"""Zendesk's Attachments API as the product meets it: uploads, attachment details and the
authenticated `content_url` that serves an attachment's bytes.

As in Zendesk (`zendesk-oas.yaml`, Upload Files): the raw body is the file, `filename` names
it, `token` adds it to an existing upload set, and the token attaches the set to a comment
(`comment.uploads`) for 60 minutes. `content_url` is on the host the caller used and, like an
account with private attachments, answers only requests with the account's API credentials
(the gate in front of every non-control route checks them).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from sandbox.zendesk_model import Attachment, not_found
from sandbox.zendesk_render import attachment_json
from sandbox.zendesk_state import ZendeskState

CONTENT_PATH = "/attachments/token/{content_token}/"


def content_base(request: Request) -> str:
    """The host the caller used, where `content_url` points (Zendesk's own host)."""
    return str(request.base_url).rstrip("/")


def upload(
    state: ZendeskState, *, file_name: str, content_type: str, content: bytes, token: str | None
) -> tuple[str, list[Attachment]]:
    """Store one file, in a new upload set or in the set of `token`; returns the set."""
    if token is not None and token not in state.data.uploads:
        raise not_found()
    attachment = Attachment(
        id=state.data.new_id("attachment"),
        token=token or secrets.token_hex(12),
        file_name=file_name,
        content_type=content_type,
        size=len(content),
        content_token=secrets.token_urlsafe(18),
        uploaded_at=state.clock(),
    )
    uploads = state.data.uploads.setdefault(attachment.token, [])
    uploads.append(attachment)
    state.data.files[attachment.id] = base64.b64encode(content).decode()
    state.save()
    return attachment.token, uploads


def _find(state: ZendeskState, test: Any) -> Attachment:
    for uploads in state.data.uploads.values():
        for attachment in uploads:
            if test(attachment):
                return attachment
    raise not_found()


def add_upload_routes(app: FastAPI, state: ZendeskState) -> None:
    base = state.base_url

    @app.post("/api/v2/uploads", status_code=201)
    async def upload_file(
        request: Request, filename: str, token: str | None = None
    ) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "application/binary")
        token, uploads = upload(
            state,
            file_name=filename,
            content_type=content_type,
            content=await request.body(),
            token=token,
        )
        files = content_base(request)
        rendered = [attachment_json(a, base, files) for a in uploads]
        return {"upload": {"token": token, "attachment": rendered[-1], "attachments": rendered}}

    @app.get("/api/v2/attachments/{attachment_id}")
    async def show_attachment(attachment_id: int, request: Request) -> dict[str, Any]:
        attachment = _find(state, lambda a: a.id == attachment_id)
        return {"attachment": attachment_json(attachment, base, content_base(request))}

    @app.get(CONTENT_PATH)
    async def attachment_content(content_token: str) -> Response:
        attachment = _find(state, lambda a: a.content_token == content_token)
        content = base64.b64decode(state.data.files.get(attachment.id, ""))
        return Response(content, media_type=attachment.content_type)

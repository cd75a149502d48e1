"""The codec endpoint (B3): how the Temporal UI shows encrypted payloads to an operator.

Temporal's remote-codec protocol: `POST /codec/decode` (and `/codec/encode`) with
`{"payloads": [...]}` in protobuf JSON, answered in kind. Only a caller presenting
`CODEC_AUTH_TOKEN` as a bearer token may decode: without the token set, the endpoint is off.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from core.codec import UnknownEncryptionKey
from infra.temporal import codec_for
from webhooks.context import Receiver, receiver
from webhooks.signatures import refuse

router = APIRouter(prefix="/codec")


def authorized(request: Request, context: Annotated[Receiver, Depends(receiver)]) -> Receiver:
    token = context.settings.codec_auth_token
    if token is None or codec_for(context.settings) is None:
        raise HTTPException(404, "the codec endpoint needs PII_ENCRYPTION_KEY and CODEC_AUTH_TOKEN")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given, f"Bearer {token.get_secret_value()}"):
        raise refuse("codec call without the right bearer token", request)
    return context


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as exc:
        raise HTTPException(422, f"malformed payloads: {exc}") from exc


@router.post("/decode")
async def decode(
    request: Request, context: Annotated[Receiver, Depends(authorized)]
) -> dict[str, Any]:
    codec = codec_for(context.settings)
    assert codec is not None  # `authorized` lets no call through without one
    try:
        opened = await codec.decode(list((await _payloads(request)).payloads))
    except UnknownEncryptionKey as exc:
        raise HTTPException(422, str(exc)) from exc
    return json_format.MessageToDict(Payloads(payloads=opened))


@router.post("/encode")
async def encode(
    request: Request, context: Annotated[Receiver, Depends(authorized)]
) -> dict[str, Any]:
    codec = codec_for(context.settings)
    assert codec is not None
    sealed = await codec.encode(list((await _payloads(request)).payloads))
    return json_format.MessageToDict(Payloads(payloads=sealed))

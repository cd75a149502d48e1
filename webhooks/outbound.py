"""Texts the brand sent from elsewhere (campaigns, flows, other tools): `POST /webhooks/outbound`.

Signed with `X-Smsdesk-Signature` = base64(HMAC-SHA256(OUTBOUND_WEBHOOK_SECRET, raw body)).
They reach the customer's conversation, which notes them on the ticket (M11, B6) and opens the
attribution window for campaigns and flows (M18).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from core.messages import OutboundSms
from core.phone import InvalidPhoneNumber, to_e164
from webhooks.context import Receiver, receiver
from webhooks.parsing import parse
from webhooks.signatures import refuse, smsdesk_signature

router = APIRouter()


class OutboundWebhook(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    message_id: str = Field(min_length=1)
    kind: Literal["campaign", "flow", "other"]
    campaign_or_flow_id: str | None = None
    name: str | None = None
    from_: str = Field(alias="from")
    to: str
    body: str
    sent_at: datetime


async def signed_body(request: Request, context: Annotated[Receiver, Depends(receiver)]) -> bytes:
    secret = context.settings.outbound_webhook_secret
    if secret is None:
        raise HTTPException(503, "OUTBOUND_WEBHOOK_SECRET is not set: texts cannot be verified")
    body = await request.body()
    given = request.headers.get("X-Smsdesk-Signature", "")
    if not hmac.compare_digest(given, smsdesk_signature(secret.get_secret_value(), body)):
        raise refuse("X-Smsdesk-Signature missing or wrong", request)
    return body


@router.post("/webhooks/outbound")
async def outbound(
    body: Annotated[bytes, Depends(signed_body)],
    context: Annotated[Receiver, Depends(receiver)],
) -> dict[str, str]:
    sent = parse(OutboundWebhook, body, what="outbound text")
    try:
        sender, customer = to_e164(sent.from_), to_e164(sent.to)
    except InvalidPhoneNumber as exc:
        raise HTTPException(422, str(exc)) from exc
    if sender not in context.settings.sms_numbers:
        raise HTTPException(422, f"from: {sender} is not one of this account's SMS_NUMBERS")
    text = OutboundSms(
        message_id=sent.message_id,
        origin=sent.kind,
        campaign_or_flow_id=sent.campaign_or_flow_id,
        name=sent.name,
        sender_number=sender,
        customer_phone=customer,
        body=sent.body,
        sent_at=sent.sent_at,
    )
    await context.signal_conversation(sender_number=sender, customer_phone=customer, event=text)
    return {"status": "accepted"}

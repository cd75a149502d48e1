"""SMS provider webhooks: inbound texts and delivery status callbacks (Twilio form format)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from core.messages import TEXT_ID_PARAMETER, DeliveryStatus, InboundSms
from core.phone import InvalidPhoneNumber, to_e164
from infra import db
from webhooks.context import Receiver, receiver
from webhooks.signatures import check_twilio

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/sms")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
#: Only final outcomes reach the conversation; `queued`/`sent` are just logged by the provider.
FINAL_STATUSES = {"delivered", "undelivered", "failed"}
SMS_SYNC_OFF = "SMS_SYNC_ENABLED is off: texts are not synced to Zendesk"
#: How the text was made durable (`accepted` by Temporal, `journaled`, or a `duplicate`): for
#: operators reading a provider's request log, and for the storm bench's latency by path.
INTAKE_HEADER = "X-Smsdesk-Intake"
URL_ENCODED = "application/x-www-form-urlencoded"
#: Twilio's limit of media items on one message.
MAX_MEDIA = 10


async def signed_form(
    request: Request, context: Annotated[Receiver, Depends(receiver)]
) -> dict[str, str]:
    """The form fields, once `X-Twilio-Signature` has been checked against them."""
    token = context.settings.twilio_auth_token
    if token is None:
        raise HTTPException(503, "TWILIO_AUTH_TOKEN is not set: inbound texts cannot be verified")
    form = await _form_fields(request)
    check_twilio(request, form, token.get_secret_value(), context.settings.public_base_url)
    return form


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted fields. Twilio posts URL-encoded forms, which the standard library parses in
    a tenth of the time of Starlette's multipart-aware parser (the hot path of a reply storm);
    anything else still goes through Starlette."""
    if request.headers.get("content-type", "").startswith(URL_ENCODED):
        body = (await request.body()).decode("utf-8", errors="replace")
        return dict(parse_qsl(body, keep_blank_values=True))
    return {name: value for name, value in (await request.form()).items() if isinstance(value, str)}


def required(form: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise HTTPException(422, f"missing form field(s): {', '.join(missing)}")
    return [form[name] for name in names]


@router.post("/inbound")
async def inbound(
    form: Annotated[dict[str, str], Depends(signed_form)],
    context: Annotated[Receiver, Depends(receiver)],
) -> Response:
    sid, raw_from, raw_to = required(form, "MessageSid", "From", "To")
    if not context.settings.sms_sync_enabled:
        # Texts are not smsdesk's business while "Sync SMS conversations" is off (M3): the
        # provider still gets its 200 (no retries), and the reason is in a header and the log.
        log.info("inbound text %s ignored: SMS_SYNC_ENABLED is off", sid)
        return Response(
            EMPTY_TWIML, media_type="text/xml", headers={"X-Smsdesk-Ignored": SMS_SYNC_OFF}
        )
    try:
        customer = to_e164(raw_from)
    except InvalidPhoneNumber as exc:
        raise HTTPException(422, f"From: {exc}") from exc
    try:
        sender = to_e164(raw_to)
    except InvalidPhoneNumber as exc:
        raise HTTPException(422, f"To: {exc}") from exc
    if sender not in context.settings.sms_numbers:
        raise HTTPException(422, f"To: {sender} is not one of this account's SMS_NUMBERS")
    try:
        media_count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise HTTPException(422, "NumMedia: not a whole number") from None
    # Twilio sends at most 10 items; more would be a forged or broken form.
    present = [i for i in range(min(media_count, MAX_MEDIA)) if form.get(f"MediaUrl{i}")]
    text = InboundSms(
        message_sid=sid,
        customer_phone=customer,
        sender_number=sender,
        body=form.get("Body", ""),
        media_urls=[form[f"MediaUrl{i}"] for i in present],
        media_types=[form.get(f"MediaContentType{i}", "") for i in present],
        received_at=datetime.now(UTC),
    )
    outcome = await context.signal_conversation(
        sender_number=sender, customer_phone=customer, event=text
    )
    return Response(EMPTY_TWIML, media_type="text/xml", headers={INTAKE_HEADER: outcome})


@router.post("/status")
async def status(
    request: Request,
    form: Annotated[dict[str, str], Depends(signed_form)],
    context: Annotated[Receiver, Depends(receiver)],
) -> dict[str, str]:
    sid, message_status = required(form, "MessageSid", "MessageStatus")
    if message_status not in FINAL_STATUSES:
        return {"status": "ignored", "reason": f"{message_status} is not a final status"}
    text_id = _text_id(request)
    row = await context.in_thread(db.sent_text, context.engine, text_id=text_id, provider_sid=sid)
    if row is None:
        return {"status": "ignored", "reason": f"{sid} was not sent by smsdesk"}
    error_code = form.get("ErrorCode")
    report = DeliveryStatus(
        message_sid=sid,
        status=message_status,
        error_code=int(error_code) if error_code and error_code.isdigit() else None,
        text_id=row.id,
    )
    await context.signal_conversation(
        sender_number=row.from_number, customer_phone=row.to_number, event=report
    )
    return {"status": "accepted"}


def _text_id(request: Request) -> int | None:
    raw = request.query_params.get(TEXT_ID_PARAMETER)
    if raw is None:
        return None
    if not raw.isdigit():
        raise HTTPException(422, f"{TEXT_ID_PARAMETER} must be a message-log id, not {raw!r}")
    return int(raw)

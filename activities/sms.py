"""Sending texts exactly once (B4), with every text logged and counted (M10, M20).

The message log doubles as a send journal. A row is written as SENDING before the provider is
called and finished after it answers. An attempt that finds its row still SENDING does not know
whether the earlier call went through, so it asks the provider for texts already sent to that
number with that body before sending: an ambiguous failure is never blindly re-sent.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.errors import retry_decisions
from clients.errors import RejectedRequest
from clients.twilio import OPTED_OUT_ERROR, TwilioClient, twilio_error_code
from core.media_urls import MediaUrls
from core.messages import TEXT_ID_PARAMETER
from core.segments import count_segments
from core.tables import Direction, MessageLog, SendStatus
from core.telemetry import TEXTS_SENT
from infra import db


class SendSmsInput(BaseModel):
    idempotency_key: str
    conversation_id: str
    from_number: str
    to_number: str
    body: str
    kind: str
    ticket_id: int | None = None
    agent_id: int | None = None
    #: Zendesk attachments texted with it as MMS (B11): their URLs are signed at send time.
    media_attachment_ids: list[int] = []


class SendSmsResult(BaseModel):
    sent: bool
    provider_sid: str | None = None
    segments: int
    error_code: int | None = None
    #: Why the text was not sent, in words an agent can act on (B8).
    reason: str | None = None


class DeliveryInput(BaseModel):
    provider_sid: str
    text_id: int | None = None
    status: str
    error_code: int | None = None


class DeliveryResult(BaseModel):
    body: str | None
    ticket_id: int | None


_REJECTION_REASONS = {
    OPTED_OUT_ERROR: "the customer has opted out of texts (STOP) at the carrier",
    21211: "the customer's number is not a valid phone number",
    21606: "this account does not own the number the text would be sent from",
}


class SmsActivities:
    def __init__(
        self,
        client: TwilioClient,
        engine: Engine,
        *,
        status_callback_url: str,
        media_urls: MediaUrls | None = None,
    ) -> None:
        self._sms = client
        self._engine = engine
        self._status_callback_url = status_callback_url
        self._media_urls = media_urls

    @activity.defn
    async def send_sms(self, request: SendSmsInput) -> SendSmsResult:
        count = count_segments(request.body)
        journal = MessageLog(
            conversation_id=request.conversation_id,
            direction=Direction.OUTBOUND,
            kind=request.kind,
            from_number=request.from_number,
            to_number=request.to_number,
            body=request.body,
            encoding=count.encoding,
            segments=count.segments,
            ticket_id=request.ticket_id,
            agent_id=request.agent_id,
            idempotency_key=request.idempotency_key,
            status=SendStatus.SENDING,
        )
        row, fresh = await asyncio.to_thread(db.begin_send, self._engine, message=journal)
        assert row.id is not None
        if row.status in (SendStatus.SENT, SendStatus.DELIVERED, SendStatus.UNDELIVERED):
            return SendSmsResult(sent=True, provider_sid=row.provider_sid, segments=row.segments)
        if row.status is SendStatus.FAILED:
            return _not_sent(row.error_code, row.segments)

        with retry_decisions():
            if not fresh:
                earlier = await self._find_sent(row)
                if earlier is not None:
                    await asyncio.to_thread(
                        db.finish_send,
                        self._engine,
                        message_id=row.id,
                        status=SendStatus.SENT,
                        provider_sid=earlier,
                    )
                    return SendSmsResult(sent=True, provider_sid=earlier, segments=row.segments)
            try:
                message = await self._sms.send_message(
                    to=request.to_number,
                    from_=request.from_number,
                    body=request.body,
                    status_callback=f"{self._status_callback_url}?{TEXT_ID_PARAMETER}={row.id}",
                    media_urls=self._signed(request.media_attachment_ids),
                )
            except RejectedRequest as exc:
                code = twilio_error_code(exc)
                await asyncio.to_thread(
                    db.finish_send,
                    self._engine,
                    message_id=row.id,
                    status=SendStatus.FAILED,
                    error_code=code,
                )
                TEXTS_SENT.labels(kind=request.kind, outcome="refused").inc()
                return _not_sent(code, row.segments, detail=str(exc))
        await asyncio.to_thread(
            db.finish_send,
            self._engine,
            message_id=row.id,
            status=SendStatus.SENT,
            provider_sid=message.sid,
        )
        TEXTS_SENT.labels(kind=request.kind, outcome="sent").inc()
        return SendSmsResult(sent=True, provider_sid=message.sid, segments=row.segments)

    @activity.defn
    async def record_delivery(self, request: DeliveryInput) -> DeliveryResult:
        """Store a status callback on the text's log row; returns the text for the agent note."""
        row = await asyncio.to_thread(
            db.set_delivery_status,
            self._engine,
            text_id=request.text_id,
            provider_sid=request.provider_sid,
            status=_delivery_status(request.status),
            error_code=request.error_code,
        )
        return DeliveryResult(
            body=row.body if row else None, ticket_id=row.ticket_id if row else None
        )

    def _signed(self, attachment_ids: list[int]) -> list[str]:
        if not attachment_ids or self._media_urls is None:
            return []  # the workflow only asks for media when URLs can be signed
        now = time.time()
        return [self._media_urls.url(attachment_id, now=now) for attachment_id in attachment_ids]

    async def _find_sent(self, row: MessageLog) -> str | None:
        """The provider's sid of this journal row's text if an earlier attempt sent it.

        A text with the same body whose sid the log already holds belongs to another send (an
        agent may well write "Thanks!" twice), so only unknown sids count.
        """
        since = (row.created_at - timedelta(days=1)).date()
        sent = await self._sms.list_messages(
            to=row.to_number, from_=row.from_number, sent_on_or_after=since
        )
        candidates = [m.sid for m in sent if m.body == row.body]
        known = await asyncio.to_thread(db.known_sids, self._engine, provider_sids=candidates)
        return next((sid for sid in candidates if sid not in known), None)


def _delivery_status(provider_status: str) -> SendStatus:
    return {
        "delivered": SendStatus.DELIVERED,
        "undelivered": SendStatus.UNDELIVERED,
        "failed": SendStatus.FAILED,
    }.get(provider_status, SendStatus.SENT)


def _not_sent(code: int | None, segments: int, detail: str | None = None) -> SendSmsResult:
    reason = _REJECTION_REASONS.get(code or 0) or f"the SMS provider refused it ({detail})"
    return SendSmsResult(sent=False, segments=segments, error_code=code, reason=reason)

"""Activities on the product database alone: texts sent from elsewhere (M10, M11), attributions
(M18) and the conversation's last ticket. The writes are idempotent by construction: each row
has a unique natural key."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from core.messages import OutboundSms
from core.segments import count_segments
from core.tables import Attribution, Direction, MessageLog, SendStatus
from infra import db


class OutboundRecordInput(BaseModel):
    conversation_id: str
    text: OutboundSms
    #: The ticket that shows the text as a note; None keeps it for the next ticket's context.
    ticket_id: int | None = None


class AttributionInput(BaseModel):
    conversation_id: str
    message_sid: str
    outbound_message_id: str
    origin: str
    campaign_or_flow_id: str | None = None
    name: str | None = None
    ticket_id: int | None = None


class Recorded(BaseModel):
    new: bool


class LatestTicketInput(BaseModel):
    conversation_id: str


class LatestTicket(BaseModel):
    #: The newest ticket smsdesk opened for the conversation; None if it never had one.
    ticket_id: int | None


class RecordActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    async def record_outbound(self, request: OutboundRecordInput) -> Recorded:
        text = request.text
        count = count_segments(text.body)
        row = MessageLog(
            conversation_id=request.conversation_id,
            direction=Direction.OUTBOUND,
            kind=text.origin,
            from_number=text.sender_number,
            to_number=text.customer_phone,
            body=text.body,
            encoding=count.encoding,
            segments=count.segments,
            idempotency_key=text.dedupe_id,
            ticket_id=request.ticket_id,
            status=SendStatus.SENT,
            created_at=text.sent_at,
        )
        new = await asyncio.to_thread(db.insert_once, self._engine, row=row)
        return Recorded(new=new)

    @activity.defn
    async def record_attribution(self, request: AttributionInput) -> Recorded:
        attribution = Attribution(**request.model_dump())
        new = await asyncio.to_thread(db.insert_once, self._engine, row=attribution)
        return Recorded(new=new)

    @activity.defn
    async def latest_ticket(self, request: LatestTicketInput) -> LatestTicket:
        link = await asyncio.to_thread(
            db.latest_ticket, self._engine, conversation_id=request.conversation_id
        )
        return LatestTicket(ticket_id=link.ticket_id if link else None)

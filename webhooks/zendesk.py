"""Zendesk event-subscription webhook: ticket metrics for every ticket (M15), then agent
comments and status changes of SMS tickets for their conversation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from core.conversation import names_a_conversation
from core.messages import AgentComment, TicketStatusChanged
from infra import db
from webhooks.context import Receiver, receiver
from webhooks.metrics import metric_of, metrics_input
from webhooks.parsing import parse
from webhooks.signatures import check_zendesk
from webhooks.zendesk_events import (
    COMMENT_ADDED,
    STATUS_CHANGED,
    CommentAddedDetail,
    StatusChangedDetail,
    ZendeskEvent,
)

router = APIRouter()


async def signed_body(request: Request, context: Annotated[Receiver, Depends(receiver)]) -> bytes:
    secret = context.settings.zendesk_webhook_secret
    if secret is None:
        raise HTTPException(503, "ZENDESK_WEBHOOK_SECRET is not set: events cannot be verified")
    body = await request.body()
    check_zendesk(request, body, secret.get_secret_value())
    return body


@router.post("/webhooks/zendesk")
async def zendesk_event(
    body: Annotated[bytes, Depends(signed_body)],
    context: Annotated[Receiver, Depends(receiver)],
) -> dict[str, str]:
    event = parse(ZendeskEvent, body, what="Zendesk event")
    status_change = (
        parse(StatusChangedDetail, event.event, what="Zendesk event")
        if event.type == STATUS_CHANGED
        else None
    )
    # Metrics first, for every ticket of every channel (M15); a duplicate start is a no-op.
    # With ticket sync switched off at set-up (M2), no metric is started at all.
    metric = metric_of(event, status_change) if context.settings.metrics_sync_enabled else None
    if metric is not None:
        await context.start_ticket_metrics(metrics_input(event, metric, context.settings))
    answered = {"status": "accepted"} if metric is not None else None
    if event.type not in (COMMENT_ADDED, STATUS_CHANGED):
        reason = f"{event.type} is not handled"
        if not context.settings.metrics_sync_enabled:
            reason = "METRICS_SYNC_ENABLED is off: ticket events are not synced"
        return answered or {"status": "ignored", "reason": reason}
    payload = conversation_event(event, status_change)
    if isinstance(payload, AgentComment) and payload.why_not_texted is not None:
        # Most comments on SMS tickets are the customer's texts that smsdesk itself wrote:
        # dropping them here spares the conversation a signal and a workflow task each.
        return answered or {"status": "ignored", "reason": payload.why_not_texted}
    link = await context.in_thread(db.ticket_link, context.engine, ticket_id=event.detail.id)
    external_id = event.detail.external_id or ""
    if link is None and not names_a_conversation(external_id):
        return answered or {"status": "ignored", "reason": "not an SMS conversation ticket"}
    if link is None:
        # smsdesk made this ticket (its external_id is the conversation), but the link row is
        # not written yet: a worker died between creating the ticket and recording it. The
        # conversation is running (it is retrying that very step), so signal it directly.
        await context.signal_running(external_id, event=payload)
        return {"status": "accepted"}
    await context.signal_conversation(
        sender_number=link.sender_number, customer_phone=link.customer_phone, event=payload
    )
    return {"status": "accepted"}


def conversation_event(
    event: ZendeskEvent, status_change: StatusChangedDetail | None
) -> AgentComment | TicketStatusChanged:
    """The conversation's event for a comment or status event of an SMS ticket."""
    if status_change is not None:
        return TicketStatusChanged(
            event_id=event.id,
            ticket_id=event.detail.id,
            status=status_change.current,
            previous=status_change.previous,
            changed_at=event.time,
        )
    comment = parse(CommentAddedDetail, event.event, what="Zendesk event").comment
    return AgentComment(
        event_id=event.id,
        ticket_id=event.detail.id,
        comment_id=comment.id,
        body=comment.body,
        is_public=comment.is_public,
        author_id=comment.author.id,
        author_is_staff=comment.author.is_staff,
        author_name=comment.author.name,
        created_at=event.time,
    )

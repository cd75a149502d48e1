"""Activities that write to Zendesk. They run on the Zendesk task queue, whose server-side rate
limit spreads the account's request budget over every conversation (B5).

Exactly-once (B4): ticket creation sends an `Idempotency-Key`; every create and update carries
a reference in its audit metadata (`core.markers`, B13: never in the comment body, so agents
read the customer's text as sent), and a retried attempt first looks for its reference among
the ticket's latest audits, unless no earlier attempt can have reached Zendesk
(`activities.retried_writes`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.errors import retry_decisions
from activities.retried_writes import UNPROCESSED, UnprocessedAttempts
from activities.uploads import comment_with_uploads, expired, refused_uploads, uploads_expired
from clients.errors import RejectedRequest, Unprocessable
from clients.zendesk import ZendeskClient, ZendeskTicket
from core.conversation import SMS_EXTERNAL_ID_PREFIX
from core.markers import audit_metadata, has_legacy_marker, has_reference, legacy_marker
from core.messages import TicketStatus
from core.tables import MessageLog, TicketLink
from core.telemetry import COMMENTS, TICKETS
from infra import db

SMS_TAG = "sms"


class RequesterInput(BaseModel):
    customer_phone: str
    name: str | None = None


class RequesterResult(BaseModel):
    user_id: int


class CustomerText(BaseModel):
    message_sid: str
    body: str
    media_count: int = 0
    #: Upload tokens of the text's media (B7), attached to the text's own comment.
    uploads: list[str] = []
    #: The text's media that could not be attached, each described for agents (B7).
    missing_media: list[str] = []
    #: When `uploads` were issued: Zendesk attaches them for 60 minutes from then.
    uploads_issued_at: datetime | None = None


class OpenTicketInput(BaseModel):
    conversation_id: str
    sender_number: str
    customer_phone: str
    requester_id: int
    texts: list[CustomerText]
    follow_up_of: int | None = None
    brand_id: int | None = None
    #: Texts the brand sent up to this moment (the first text's arrival) and no ticket showed
    #: yet are put before the customer's words as context (M11). A fixed cut-off keeps the
    #: body identical across retries, as Zendesk's idempotency key requires.
    context_until: datetime


class CustomerCommentInput(BaseModel):
    ticket_id: int
    requester_id: int
    texts: list[CustomerText]
    reopen: bool


class TicketResult(BaseModel):
    ticket_id: int
    status: TicketStatus


class CommentResult(BaseModel):
    #: None when Zendesk refused because the ticket is closed: the caller opens a follow-up.
    ticket: TicketResult | None


class InternalNoteInput(BaseModel):
    ticket_id: int
    body: str
    key: str
    tags: list[str] = []


class NoteResult(BaseModel):
    written: bool


class AgentInput(BaseModel):
    user_id: int


class AgentResult(BaseModel):
    email: str | None
    name: str | None


class TicketLookupInput(BaseModel):
    ticket_id: int


class TransitionInput(BaseModel):
    """Move a ticket to `to_status`, but only if Zendesk still has it in one of `when`."""

    ticket_id: int
    when: list[TicketStatus]
    to_status: TicketStatus
    note: str | None = None


class RecallInput(BaseModel):
    conversation_id: str


class RecallResult(BaseModel):
    """The conversation's latest ticket as Zendesk sees it now, if it ever had one."""

    ticket: TicketResult | None


def comment_body(texts: list[CustomerText], preamble: str | None = None) -> str:
    """One comment from a burst of texts, each exactly as sent (B13), with media noted rather
    than silently lost (M13)."""
    parts = [preamble] if preamble else []
    for text in texts:
        part = text.body
        if text.missing_media:
            listed = "; ".join(text.missing_media)
            part += f"\n(sent with this text but not attached here: {listed})"
        elif text.media_count and not text.uploads:  # a text written before B7
            noun = "picture or file" if text.media_count == 1 else "pictures or files"
            part += f"\n({text.media_count} {noun} sent with this text: not shown in Zendesk)"
        parts.append(part)
    return "\n\n".join(parts)


def _context_preamble(context: list[MessageLog]) -> str | None:
    if not context:
        return None
    lines = [f"[{row.kind} text sent to the customer earlier]\n{row.body}" for row in context]
    return "\n\n".join(lines) + "\n\n[the customer's reply]"


def batch_key(texts: list[CustomerText]) -> str:
    return texts[0].message_sid


def _idempotency_conflict(error: RejectedRequest) -> bool:
    """Is this 400 Zendesk's IdempotentRequestError (the key was used with another body)?"""
    try:
        return bool(json.loads(error.body).get("error") == "IdempotentRequestError")
    except (ValueError, AttributeError):
        return False


def _pre_b13_create(ticket: dict[str, Any], key: str) -> dict[str, Any]:
    """The create body a version before B13 sent: the marker in the comment, no metadata."""
    legacy = {name: value for name, value in ticket.items() if name != "metadata"}
    comment = ticket["comment"]
    legacy["comment"] = {**comment, "body": f"{comment['body']}\n\n{legacy_marker(key)}"}
    return legacy


def _closed_refusal(error: Unprocessable) -> bool:
    """Is this 422 Zendesk's "Status: closed prevents ticket update"? (structure, not text)."""
    try:
        details = json.loads(error.body).get("details") or {}
    except (ValueError, AttributeError):
        return False
    return "status" in details


class ZendeskActivities:
    def __init__(self, client: ZendeskClient, engine: Engine) -> None:
        self._zendesk = client
        self._engine = engine
        self._agents: dict[int, AgentResult] = {}
        self._unprocessed = UnprocessedAttempts()

    @activity.defn
    async def ensure_requester(self, request: RequesterInput) -> RequesterResult:
        """The customer's Zendesk user, found or made by `external_id` (Zendesk has no phone
        match in create_or_update)."""
        with retry_decisions():
            user = await self._zendesk.create_or_update_user(
                name=request.name or request.customer_phone,
                external_id=SMS_EXTERNAL_ID_PREFIX + request.customer_phone,
            )
        # The contact an Opened Ticket event needs, so the event costs no read of the user.
        await asyncio.to_thread(
            db.remember_requester,
            self._engine,
            user_id=user.id,
            email=user.email,
            phone=user.phone,
            external_id=user.external_id,
        )
        return RequesterResult(user_id=user.id)

    @activity.defn
    async def open_ticket(self, request: OpenTicketInput) -> TicketResult:
        """Create the conversation's ticket, or a follow-up of its closed one (M4, M7)."""
        first = request.texts[0].body.strip().replace("\n", " ")
        context = await asyncio.to_thread(
            db.unticketed_outbound,
            self._engine,
            conversation_id=request.conversation_id,
            until=request.context_until,
        )
        ticket: dict[str, Any] = {
            "subject": f"SMS from {request.customer_phone}: {first[:60]}",
            "comment": comment_with_uploads(
                request.texts,
                comment_body(request.texts, _context_preamble(context)),
                request.requester_id,
            ),
            "requester_id": request.requester_id,
            "tags": [SMS_TAG],
            "external_id": request.conversation_id,
            "metadata": audit_metadata(batch_key(request.texts)),
        }
        if request.brand_id is not None:
            ticket["brand_id"] = request.brand_id
        if request.follow_up_of is not None:
            ticket["via_followup_source_id"] = request.follow_up_of
        key = f"{request.conversation_id}:{batch_key(request.texts)}"
        # A retry may still replay an earlier attempt's create with these very tokens.
        if activity.info().attempt == 1 and uploads_expired(request.texts):
            raise expired()
        with retry_decisions():
            try:
                created = await self._zendesk.create_ticket(ticket, idempotency_key=key)
            except Unprocessable as exc:
                if refused_uploads(exc):
                    raise expired() from exc
                raise
            except RejectedRequest as exc:
                # A first attempt made before B13 (a worker upgraded mid-retry) sent another
                # body under this key: replaying that body gets its ticket back, not a twin.
                if activity.info().attempt == 1 or not _idempotency_conflict(exc):
                    raise
                legacy = _pre_b13_create(ticket, batch_key(request.texts))
                created = await self._zendesk.create_ticket(legacy, idempotency_key=key)
        if not created.replayed:
            TICKETS.inc()  # a replayed create (Idempotency-Key) made nothing new
        link = TicketLink(
            ticket_id=created.ticket.id,
            conversation_id=request.conversation_id,
            sender_number=request.sender_number,
            customer_phone=request.customer_phone,
            follow_up_of=request.follow_up_of,
            opened_as=created.ticket.model_dump_json(),
        )
        await asyncio.to_thread(db.insert_once, self._engine, row=link)
        await self._attach(request.texts, created.ticket.id)
        context_ids = [row.id for row in context if row.id is not None]
        await asyncio.to_thread(
            db.attach_ticket_by_ids,
            self._engine,
            message_ids=context_ids,
            ticket_id=created.ticket.id,
        )
        return _result(created.ticket)

    @activity.defn
    async def add_customer_comment(self, request: CustomerCommentInput) -> CommentResult:
        """Add the customer's texts to the ticket; reopen it in the same request (M7)."""
        body = comment_body(request.texts)
        with retry_decisions():
            async with self._written_once() as check:
                if check:
                    existing = await self._find_written(request.ticket_id, batch_key(request.texts))
                    if existing is not None:
                        return CommentResult(ticket=existing)
                if uploads_expired(request.texts):
                    raise expired()
                update: dict[str, Any] = {
                    "comment": comment_with_uploads(request.texts, body, request.requester_id),
                    "metadata": audit_metadata(batch_key(request.texts)),
                }
                if request.reopen:
                    update["status"] = TicketStatus.OPEN.value
                try:
                    ticket = await self._zendesk.update_ticket(request.ticket_id, update)
                except Unprocessable as exc:
                    if _closed_refusal(exc):
                        return CommentResult(ticket=None)
                    if refused_uploads(exc):
                        raise expired() from exc
                    raise
        COMMENTS.inc()
        await self._attach(request.texts, ticket.id)
        return CommentResult(ticket=_result(ticket))

    @activity.defn
    async def add_internal_note(self, request: InternalNoteInput) -> NoteResult:
        """A private note for agents (B2, B8). A closed ticket cannot take one: that is said
        in the result rather than retried forever."""
        with retry_decisions():
            async with self._written_once() as check:
                if check:
                    if await self._find_written(request.ticket_id, request.key) is not None:
                        return NoteResult(written=True)
                update: dict[str, Any] = {
                    "comment": {"body": request.body, "public": False},
                    "metadata": audit_metadata(request.key),
                }
                if request.tags:
                    update["additional_tags"] = request.tags
                try:
                    await self._zendesk.update_ticket(request.ticket_id, update)
                except Unprocessable as exc:
                    if _closed_refusal(exc):
                        return NoteResult(written=False)
                    raise
        return NoteResult(written=True)

    @activity.defn
    async def describe_agent(self, request: AgentInput) -> AgentResult:
        """The replying agent's email, for M9. Cached: agents' emails rarely change."""
        if request.user_id not in self._agents:
            with retry_decisions():
                user = await self._zendesk.get_user(request.user_id)
            self._agents[request.user_id] = AgentResult(email=user.email, name=user.name)
        return self._agents[request.user_id]

    @activity.defn
    async def get_ticket_status(self, request: TicketLookupInput) -> TicketResult:
        with retry_decisions():
            ticket = await self._zendesk.get_ticket(request.ticket_id)
        return _result(ticket)

    @activity.defn
    async def transition_ticket(self, request: TransitionInput) -> TicketResult:
        """The timers' move (auto-close, inactivity): Zendesk's current status is read first,
        so a ticket that an agent reopened or closed meanwhile is left alone.

        The read and the update take their budget slots together: a read whose update then
        found no slot would be sent again with every retry, spending the account's budget on
        reads while it binds. The update's slot is wasted only when the ticket has moved.
        """
        with retry_decisions():
            async with self._zendesk.read_then_update():
                ticket = await self._zendesk.get_ticket(request.ticket_id)
                if TicketStatus(ticket.status) not in request.when:
                    return _result(ticket)
                update: dict[str, Any] = {"status": request.to_status.value}
                if request.note:
                    update["comment"] = {"body": request.note, "public": False}
                try:
                    ticket = await self._zendesk.update_ticket(request.ticket_id, update)
                except Unprocessable as exc:
                    if _closed_refusal(exc):
                        return TicketResult(ticket_id=request.ticket_id, status=TicketStatus.CLOSED)
                    raise
        return _result(ticket)

    @activity.defn
    async def recall_latest_ticket(self, request: RecallInput) -> RecallResult:
        """What a conversation's fresh run needs to know: its last ticket and its real status
        (so a text after a closed ticket opens a follow-up, M7)."""
        link = await asyncio.to_thread(
            db.latest_ticket, self._engine, conversation_id=request.conversation_id
        )
        if link is None:
            return RecallResult(ticket=None)
        with retry_decisions():
            ticket = await self._zendesk.get_ticket(link.ticket_id)
        return RecallResult(ticket=_result(ticket))

    @asynccontextmanager
    async def _written_once(self) -> AsyncIterator[bool]:
        """Around a write: yields whether it must first check for an earlier attempt's
        (`_find_written`), which is only when an earlier attempt may have reached Zendesk.

        The check and the write then take their budget slots together: when the account
        budget binds, a check whose write found no slot would send the attempt back to check
        again, and retries would spend the budget on checks alone (a bench run read audits
        6,580 times for 392 updates).
        """
        info = activity.info()
        if self._unprocessed.none_may_have_written(info):
            try:
                yield False
            except UNPROCESSED:
                self._unprocessed.remember(info)
                raise
        else:
            async with self._zendesk.read_then_update():
                yield True

    async def _find_written(self, ticket_id: int, key: str) -> TicketResult | None:
        """The ticket, if an earlier attempt's write with reference `key` landed on it.

        One read of the latest audits answers both ways a write was marked: the reference in
        the audit's `metadata.custom` (B13), or, for an attempt made by a version before B13,
        the marker at the end of the audit's comment body.
        """
        for audit in await self._zendesk.latest_audits(ticket_id):
            if has_reference(audit.custom, key) or any(
                has_legacy_marker(body, key) for body in audit.comment_bodies
            ):
                return _result(await self._zendesk.get_ticket(ticket_id))
        return None

    async def _attach(self, texts: list[CustomerText], ticket_id: int) -> None:
        sids = [text.message_sid for text in texts]
        await asyncio.to_thread(
            db.attach_ticket, self._engine, provider_sids=sids, ticket_id=ticket_id
        )


def _result(ticket: ZendeskTicket) -> TicketResult:
    return TicketResult(ticket_id=ticket.id, status=TicketStatus(ticket.status))

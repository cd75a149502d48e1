"""The reconciler's SMS side (B10): inbound texts whose webhook never reached the product.

Twilio never re-sends an inbound webhook that failed, but keeps the message in its Messages
list. Each run lists the texts to every account number since its cursor and hands the ones
the product never saw (not in the message log, not waiting in the intake journal) to their
conversation through the normal inbound path, with the provider's `date_sent` as their
arrival time, so consent, keywords and M14 judge them as they would have on time.

Texts younger than RECONCILE_SETTLE_SECONDS are left alone: their webhook may still be on its
way (Twilio gives up after 15 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from temporalio import activity

from activities import reconcile_cursors as cursors
from activities.errors import retry_decisions
from clients.twilio import TwilioClient, TwilioMessage
from core.messages import InboundSms
from core.phone import InvalidPhoneNumber, to_e164
from core.reconcile import SideInput, SmsRepairs
from infra import db
from intake import journal
from intake.door import Door
from intake.handoff import Handoff


class SmsSide:
    def __init__(self, twilio: TwilioClient, engine: Engine, door: Door) -> None:
        self._twilio = twilio
        self._engine = engine
        self._door = door

    async def reconcile(self, request: SideInput) -> SmsRepairs:
        settings = self._door.settings
        if not settings.sms_sync_enabled:
            return SmsRepairs(skipped="SMS sync is off")
        saved = await asyncio.to_thread(cursors.read, self._engine, cursors.SMS_MESSAGES)
        until = datetime.now(UTC) - timedelta(seconds=settings.reconcile_settle_seconds)
        since = request.since or saved or request.run_started_at - settings.reconcile_interval
        repairs = SmsRepairs(read_from=since, read_until=until)
        for number in settings.sms_numbers:
            window: list[TwilioMessage] = []
            async for page in self._pages(number, since):
                window += [m for m in page if m.sent_at is not None and since <= m.sent_at <= until]
            repairs.messages_read += len(window)
            # The list is newest first and `date_sent` has whole seconds: reversed, then sorted
            # (stable), a conversation gets its texts in the order they were sent.
            window.reverse()
            unseen = sorted(await self._unseen(number, window), key=lambda t: t.received_at)
            for text in unseen:
                if _before_sync(text, settings.sms_sync_enabled_at):
                    repairs.before_sync += 1
                    continue
                await self._door.hand_over(
                    Handoff.conversation_event(
                        text,
                        sender_number=number,
                        customer_phone=text.customer_phone,
                        settings=settings,
                    )
                )
                repairs.texts.append(text.message_sid)
        await asyncio.to_thread(cursors.advance, self._engine, cursors.SMS_MESSAGES, until)
        return repairs

    async def _pages(self, number: str, since: datetime) -> AsyncIterator[list[TwilioMessage]]:
        pages = self._twilio.received_messages(to=number, sent_on_or_after=since.date())
        while True:
            with retry_decisions():
                try:
                    page = await anext(pages)
                except StopAsyncIteration:
                    return
            activity.heartbeat(number)
            yield page

    async def _unseen(self, number: str, messages: list[TwilioMessage]) -> list[InboundSms]:
        texts = [t for t in (_inbound(number, m) for m in messages) if t is not None]
        with_media = {m.sid for m in messages if m.num_media}
        sids = [t.message_sid for t in texts]
        known = await asyncio.to_thread(db.known_sids, self._engine, provider_sids=sids)
        keys = {self._journal_key(t): t for t in texts if t.message_sid not in known}
        waiting = await asyncio.to_thread(
            journal.journaled_dedupe_keys, self._engine, keys=list(keys)
        )
        unseen = [text for key, text in keys.items() if key not in waiting]
        for text in unseen:
            if text.message_sid in with_media:  # its pictures too, as the webhook names them (B7)
                with retry_decisions():
                    media = await self._twilio.list_media(text.message_sid)
                text.media_urls = [url for url, _ in media]
                text.media_types = [kind for _, kind in media]
        return unseen

    def _journal_key(self, text: InboundSms) -> str:
        return Handoff.conversation_event(
            text,
            sender_number=text.sender_number,
            customer_phone=text.customer_phone,
            settings=self._door.settings,
        ).dedupe_key


def _inbound(number: str, message: TwilioMessage) -> InboundSms | None:
    try:
        customer = to_e164(message.from_)
    except InvalidPhoneNumber:
        return None  # a short code or sender id: no conversation can answer it
    assert message.sent_at is not None
    return InboundSms(
        message_sid=message.sid,
        customer_phone=customer,
        sender_number=number,
        body=message.body,
        received_at=message.sent_at,
    )


def _before_sync(text: InboundSms, enabled_at: datetime | None) -> bool:
    return enabled_at is not None and text.received_at < enabled_at

"""Who the customer is and what they agreed to: consent (M12) and keyword effects (M5).

Consent comes from the customer's Klaviyo profile, except that an opt-out or opt-in keyword
texted to us takes effect at once and is recorded in the product database, which then wins over
a profile that has not caught up yet.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.errors import retry_decisions
from activities.profile_cache import ProfileCache
from clients.klaviyo import KlaviyoClient, KlaviyoProfile
from core.messages import InboundSms
from core.rules import Disposition, KeywordClass, disposition
from core.segments import count_segments
from core.tables import Consent, Direction, MessageLog, SendStatus
from infra import db

#: The message-log kind of the auto-responder's texts.
AUTO_RESPONDER_KIND = "auto_responder"


class ClassifiedText(BaseModel):
    text: InboundSms
    keyword: KeywordClass


class TriageInput(BaseModel):
    conversation_id: str
    texts: list[ClassifiedText]
    sms_sync_enabled_at: datetime | None = None


class CustomerContext(BaseModel):
    consented: bool
    email: str | None = None
    name: str | None = None


class TriageResult(BaseModel):
    customer: CustomerContext
    #: Disposition of each text, by message sid.
    dispositions: dict[str, Disposition]
    #: When the auto-responder last went out in this conversation, in any run (M12).
    auto_responder_sent_at: datetime | None = None


class CustomerInput(BaseModel):
    customer_phone: str


class CustomerActivities:
    def __init__(
        self, client: KlaviyoClient, engine: Engine, *, profile_ttl: timedelta = timedelta(0)
    ) -> None:
        self._klaviyo = client
        self._engine = engine
        self._profiles = ProfileCache(profile_ttl)

    @activity.defn
    async def triage_inbound(self, request: TriageInput) -> TriageResult:
        """Apply keyword consent changes, look up consent, decide and log each text's fate."""
        profile = await self._profile(request.texts[0].text.customer_phone)
        # All the database work in one thread hop, not one per statement: at 50 texts a
        # second, handing work to a thread cost more than SQLite took to do it.
        return await asyncio.to_thread(self._triage, request, profile)

    def _triage(self, request: TriageInput, profile: KlaviyoProfile | None) -> TriageResult:
        recorded = self._apply_keywords(request.texts[0].text.customer_phone, request.texts)
        customer = _context(profile, recorded)
        dispositions = fates_of(request, consented=customer.consented)
        return TriageResult(
            customer=customer,
            dispositions=dispositions,
            auto_responder_sent_at=self._log_texts(request, dispositions),
        )

    def _apply_keywords(self, phone: str, texts: list[ClassifiedText]) -> Consent | None:
        """Record opt-out and opt-in keywords (M5); returns the consent now recorded."""
        for item in texts:
            if item.keyword in (KeywordClass.OPT_OUT, KeywordClass.OPT_IN):
                consent = (
                    Consent.OPTED_OUT if item.keyword is KeywordClass.OPT_OUT else Consent.OPTED_IN
                )
                keyword = item.text.body.strip().upper()
                db.set_consent(self._engine, phone=phone, consent=consent, keyword=keyword)
        return db.get_consent(self._engine, phone=phone)

    def _log_texts(
        self, request: TriageInput, dispositions: dict[str, Disposition]
    ) -> datetime | None:
        """Log each text with its fate (once per sid); returns the last auto-responder sent."""
        rows = [
            _log_row(request.conversation_id, item, dispositions[item.text.message_sid])
            for item in request.texts
        ]
        return db.log_inbound(
            self._engine,
            rows=rows,
            conversation_id=request.conversation_id,
            sent_kind=AUTO_RESPONDER_KIND,
        )

    @activity.defn
    async def customer_context(self, request: CustomerInput) -> CustomerContext:
        return await self._customer(request.customer_phone)

    async def _customer(self, phone: str) -> CustomerContext:
        recorded = await asyncio.to_thread(db.get_consent, self._engine, phone=phone)
        return _context(await self._profile(phone), recorded)

    async def _profile(self, phone: str) -> KlaviyoProfile | None:
        kept, profile = self._profiles.get(phone)
        if not kept:
            with retry_decisions():
                profile = await self._klaviyo.find_profile_by_phone(phone)
            self._profiles.put(phone, profile)
        return profile


def fates_of(request: TriageInput, *, consented: bool) -> dict[str, Disposition]:
    """Each text's fate (M4, M5, M12) by its message sid, given the customer's consent."""
    return {
        item.text.message_sid: disposition(
            item.keyword,
            consented=consented,
            received_at=item.text.received_at,
            sync_enabled_at=request.sms_sync_enabled_at,
        )
        for item in request.texts
    }


def _context(profile: KlaviyoProfile | None, recorded: Consent | None) -> CustomerContext:
    if recorded is not None:
        consented = recorded is Consent.OPTED_IN
    else:
        consented = profile.sms_consented if profile else False
    return CustomerContext(
        consented=consented,
        email=profile.email if profile else None,
        name=profile.display_name if profile else None,
    )


def _log_row(conversation_id: str, item: ClassifiedText, fate: Disposition) -> MessageLog:
    text = item.text
    count = count_segments(text.body)
    return MessageLog(
        conversation_id=conversation_id,
        direction=Direction.INBOUND,
        kind="customer",
        from_number=text.customer_phone,
        to_number=text.sender_number,
        body=text.body,
        encoding=count.encoding,
        segments=count.segments,
        disposition=fate.value,
        provider_sid=text.message_sid,
        status=SendStatus.RECEIVED,
        created_at=text.received_at,
    )

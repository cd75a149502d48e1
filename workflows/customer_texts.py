"""Texts in both directions between the brand and the customer, as the conversation sees them.

Customer texts (M4, M5, M7, M12, M14): triaged, then written to the ticket by the status
rules; a burst that queued up while an activity ran becomes one comment (B5).
Texts the brand sent from elsewhere (M11, M18): logged, noted on the open ticket, and opening
the attribution window when they come from a campaign or flow.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.customers import (
        AUTO_RESPONDER_KIND,
        ClassifiedText,
        CustomerActivities,
        CustomerContext,
        TriageInput,
    )
    from activities.media import MediaActivities, MediaUploadResult
    from activities.records import AttributionInput, OutboundRecordInput, RecordActivities
    from activities.sms import SendSmsInput, SmsActivities
    from activities.zendesk import (
        CustomerCommentInput,
        CustomerText,
        OpenTicketInput,
        RequesterInput,
        ZendeskActivities,
    )
    from core.conversation import AttributionWindow
    from core.messages import InboundSms, OutboundSms
    from core.rules import Disposition, TicketAction, attributable, classify_keyword, ticket_action
    from workflows.inbound_media import (
        UPLOAD_ROUNDS,
        plain_texts,
        texts_with_media,
        upload_input,
        uploads_expired,
        without_uploads,
    )
    from workflows.tickets import ConversationPart
    from workflows.versions import INBOUND_MEDIA, LOCAL_READS, adopted

ATTRIBUTED_TAG = "sms_attributed"


class CustomerTexts(ConversationPart):
    async def handle_burst(self, burst: list[InboundSms]) -> None:
        policy, state = self._request.policy, self._state
        state.texts_received += len(burst)
        classified = [
            ClassifiedText(
                text=text,
                keyword=classify_keyword(
                    text.body,
                    subscribe_keywords=policy.subscribe_keywords,
                    automation_keywords=policy.automation_keywords,
                ),
            )
            for text in burst
        ]
        triage = await self._calls.read(
            CustomerActivities.triage_inbound,
            TriageInput(
                conversation_id=self._request.conversation_id,
                texts=classified,
                sms_sync_enabled_at=policy.sms_sync_enabled_at,
            ),
            local=adopted(self._request.generation, LOCAL_READS),
        )
        state.customer_email = triage.customer.email
        fates = triage.dispositions
        refused = [t for t in burst if fates[t.message_sid] is Disposition.NOT_CONSENTED]
        if refused:
            await self._auto_respond(refused[0], triage.auto_responder_sent_at)
        for_ticket = [t for t in burst if fates[t.message_sid] is Disposition.TICKET]
        if for_ticket:
            state.last_customer_text_at = workflow.now()
            await self._write_to_ticket(for_ticket, triage.customer)
            await self._attribute(for_ticket)

    async def _write_to_ticket(self, burst: list[InboundSms], customer: CustomerContext) -> None:
        texts = plain_texts(burst)
        # Asked only of bursts with media, so the histories of all others stay as they were.
        if not any(t.media_urls for t in burst) or not adopted(
            self._request.generation, INBOUND_MEDIA
        ):
            await self._write(texts, burst, await self._requester(customer))
            return
        texts = texts_with_media(burst, await self._upload_media(burst))
        requester_id = await self._requester(customer)
        for round_ in range(1, UPLOAD_ROUNDS + 1):
            try:
                await self._write(texts, burst, requester_id)
                return
            except ActivityError as exc:
                if not uploads_expired(exc):
                    raise
            # The write outlived its upload tokens (Zendesk was out for about an hour).
            if round_ + 1 < UPLOAD_ROUNDS:
                texts = texts_with_media(burst, await self._upload_media(burst))
            else:
                texts = without_uploads(burst)

    async def _upload_media(self, burst: list[InboundSms]) -> MediaUploadResult:
        uploaded: MediaUploadResult = await self._calls.zendesk(
            MediaActivities.upload_inbound_media, upload_input(burst)
        )
        return uploaded

    async def _write(
        self, texts: list[CustomerText], burst: list[InboundSms], requester_id: int
    ) -> None:
        state = self._state
        action = ticket_action(state.ticket_status if state.ticket_id else None)
        if state.ticket_id is not None and action is not TicketAction.FOLLOW_UP:
            self._tickets.record_update()
            commented = await self._calls.zendesk_update(
                ZendeskActivities.add_customer_comment,
                CustomerCommentInput(
                    ticket_id=state.ticket_id,
                    requester_id=requester_id,
                    texts=texts,
                    reopen=action is TicketAction.REOPEN,
                ),
            )
            if commented.ticket is not None:
                self._tickets.set_ticket(commented.ticket)
                return
            # Zendesk says the ticket is closed, whatever we remembered: the real status wins.
            self._tickets.close()
        opened = await self._calls.zendesk(
            ZendeskActivities.open_ticket,
            OpenTicketInput(
                conversation_id=self._request.conversation_id,
                sender_number=self._request.sender_number,
                customer_phone=self._request.customer_phone,
                requester_id=requester_id,
                texts=texts,
                follow_up_of=state.last_closed_ticket_id,
                brand_id=self._request.policy.sms_brand_id,
                context_until=burst[0].received_at,
            ),
        )
        self._tickets.set_ticket(opened)

    async def _requester(self, customer: CustomerContext) -> int:
        if self._state.requester_id is None:
            requester = await self._calls.zendesk(
                ZendeskActivities.ensure_requester,
                RequesterInput(
                    customer_phone=self._request.customer_phone,
                    name=customer.name,
                ),
            )
            self._state.requester_id = requester.user_id
        return self._state.requester_id

    async def _auto_respond(self, text: InboundSms, sent_before: datetime | None) -> None:
        """M12: a sender without consent gets the auto-responder (at most once a day). A
        conversation without a ticket completes after each text, so the last sending comes
        from the message log as well as from this run's state."""
        policy, now = self._request.policy, workflow.now()
        known = [t for t in (self._state.auto_responder_sent_at, sent_before) if t is not None]
        if known and now - max(known) < policy.auto_responder_every:
            return
        await self._calls.run(
            SmsActivities.send_sms,
            SendSmsInput(
                idempotency_key=f"auto-responder:{text.message_sid}",
                conversation_id=self._request.conversation_id,
                from_number=self._request.sender_number,
                to_number=self._request.customer_phone,
                body=policy.auto_responder_text,
                kind=AUTO_RESPONDER_KIND,
            ),
        )
        self._state.auto_responder_sent_at = now

    # --- M18 attribution --------------------------------------------------------------------

    async def _attribute(self, burst: list[InboundSms]) -> None:
        """Attribute the first customer text inside the window to the last campaign/flow."""
        window = self._state.attribution
        first = burst[0]
        if window is None or not attributable(
            window_opened_at=window.opened_at,
            already_attributed=window.attributed_to_sid is not None,
            received_at=first.received_at,
            window=self._request.policy.attribution_window,
        ):
            return
        window.attributed_to_sid = first.message_sid
        ticket_id = self._state.ticket_id
        await self._calls.run(
            RecordActivities.record_attribution,
            AttributionInput(
                conversation_id=self._request.conversation_id,
                message_sid=first.message_sid,
                outbound_message_id=window.message_id,
                origin=window.origin,
                campaign_or_flow_id=window.campaign_or_flow_id,
                name=window.name,
                ticket_id=ticket_id,
            ),
        )
        if ticket_id is not None:
            label = window.name or window.campaign_or_flow_id or window.message_id
            tags = [ATTRIBUTED_TAG]
            if window.campaign_or_flow_id:
                tags.append(f"sms_{window.origin}_{window.campaign_or_flow_id}")
            await self._tickets.note(
                ticket_id,
                f'The customer\'s text answers the {window.origin} "{label}" '
                f"sent {window.opened_at:%Y-%m-%d %H:%M} UTC (attributed).",
                key=f"attribution-{first.message_sid}",
                tags=tags,
            )

    # --- texts the brand sent from elsewhere (M11, B6) --------------------------------------

    async def handle_outbound(self, text: OutboundSms) -> None:
        ticket_id = self._state.ticket_id
        recorded = await self._calls.run(
            RecordActivities.record_outbound,
            OutboundRecordInput(
                conversation_id=self._request.conversation_id, text=text, ticket_id=ticket_id
            ),
        )
        if text.opens_attribution_window:
            current = self._state.attribution
            if current is None or current.opened_at <= text.sent_at:  # the last text wins
                self._state.attribution = AttributionWindow(
                    message_id=text.message_id,
                    origin=text.origin,
                    campaign_or_flow_id=text.campaign_or_flow_id,
                    name=text.name,
                    opened_at=text.sent_at,
                )
        if recorded.new and ticket_id is not None:
            label = f'{text.origin} "{text.name}"' if text.name else text.origin
            await self._tickets.note(
                ticket_id,
                f"Sent to the customer by SMS ({label}):\n{text.body}",
                key=f"outbound-{text.message_id}",
            )

"""Agent replies to SMS (M8, M9, M12, B8) and delivery reports on them (B2)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.agent_media import AgentMediaActivities, AgentMediaInput, AgentMediaResult
    from activities.customers import CustomerActivities, CustomerInput
    from activities.sms import DeliveryInput, SendSmsInput, SmsActivities
    from activities.zendesk import AgentInput, ZendeskActivities
    from core.messages import AgentComment, DeliveryStatus
    from core.split import MAX_BODY_CHARS, provider_length, split_body
    from workflows.tickets import ConversationPart
    from workflows.versions import AGENT_MEDIA, LOCAL_READS, SPLIT_LONG_REPLIES, adopted

UNDELIVERED = ("failed", "undelivered")


class AgentReplies(ConversationPart):
    async def handle_comment(self, comment: AgentComment) -> None:
        if comment.why_not_texted is not None:
            return  # the webhook drops these; a reconciled or replayed comment may still come
        agent = await self._calls.zendesk(
            ZendeskActivities.describe_agent, AgentInput(user_id=comment.author_id)
        )
        customer = await self._calls.read(
            CustomerActivities.customer_context,
            CustomerInput(customer_phone=self._request.customer_phone),
            local=adopted(self._request.generation, LOCAL_READS),
        )
        if agent.email and customer.email and agent.email.lower() == customer.email.lower():
            await self._not_sent(
                comment,
                "the replying agent's email is the customer's own email (an agent testing "
                "as a customer, or a shared address)",
                "same-email",
            )
            return
        if not customer.consented:
            await self._not_sent(
                comment,
                "the customer has no SMS consent (opted out or never subscribed)",
                "no-consent",
            )
            return
        await self._text(comment)

    async def _text(self, comment: AgentComment) -> None:
        """Text the reply, in parts if it is too long for one text (B12), one activity per
        part so each is sent exactly once and in order. A part refused for good stops the
        rest: the customer never gets part 3 without part 2."""
        parts = [comment.body]
        # Asked only of long replies, so the histories of all others stay as they were.
        if provider_length(comment.body) > MAX_BODY_CHARS and adopted(
            self._request.generation, SPLIT_LONG_REPLIES
        ):
            parts = split_body(comment.body)
        media = await self._media(comment)
        sent_parts = 0
        for number, part in enumerate(parts, start=1):
            sent = await self._calls.run(
                SmsActivities.send_sms,
                SendSmsInput(
                    idempotency_key=_reply_key(comment.comment_id, number),
                    conversation_id=self._request.conversation_id,
                    from_number=self._request.sender_number,
                    to_number=self._request.customer_phone,
                    body=part,
                    kind="agent_reply",
                    ticket_id=comment.ticket_id,
                    agent_id=comment.author_id,
                    # The pictures go with the first part: the customer sees them at once.
                    media_attachment_ids=media.attachment_ids if number == 1 else [],
                ),
            )
            if not sent.sent:
                why = sent.reason or "the SMS provider refused it"
                await self._note(comment, _refused(why, number, len(parts)), "refused")
                break
            sent_parts = number
        if sent_parts:  # the whole reply or its first parts: one reply to the customer
            self._state.replies_sent += 1
        if media.refused:
            listed = "\n".join(f"- {why}" for why in media.refused)
            body = f"These attachments of the reply were not texted to the customer:\n{listed}"
            await self._note(comment, body, "media")

    async def _media(self, comment: AgentComment) -> AgentMediaResult:
        """The reply's attachments to text as MMS, and those that cannot be (B11). Runs
        before the first part is sent, so a retried send carries the same pictures."""
        if not adopted(self._request.generation, AGENT_MEDIA):
            return AgentMediaResult()
        found: AgentMediaResult = await self._calls.zendesk(
            AgentMediaActivities.agent_attachments,
            AgentMediaInput(ticket_id=comment.ticket_id, comment_id=comment.comment_id),
        )
        return found

    async def _not_sent(self, comment: AgentComment, why: str, code: str) -> None:
        await self._note(comment, f"This reply was not sent to the customer by SMS: {why}.", code)

    async def _note(self, comment: AgentComment, body: str, code: str) -> None:
        await self._tickets.note(comment.ticket_id, body, key=f"unsent-{code}-{comment.comment_id}")

    async def handle_delivery(self, report: DeliveryStatus) -> None:
        recorded = await self._calls.run(
            SmsActivities.record_delivery,
            DeliveryInput(
                provider_sid=report.message_sid,
                text_id=report.text_id,
                status=report.status,
                error_code=report.error_code,
            ),
        )
        if report.status in UNDELIVERED and recorded.ticket_id is not None:
            code = f" (error {report.error_code})" if report.error_code else ""
            await self._tickets.note(
                recorded.ticket_id,
                f"This SMS could not be delivered to the customer{code}:\n{recorded.body}",
                key=f"undelivered-{report.message_sid}",
            )


def _reply_key(comment_id: int, number: int) -> str:
    """The send journal's key of a reply's part. The first part keeps the key of a reply
    sent whole: the reconciler looks it up to know the comment was texted."""
    return f"reply:{comment_id}" if number == 1 else f"reply:{comment_id}:{number}"


def _refused(why: str, number: int, total: int) -> str:
    """The note on a reply whose part `number` of `total` the provider refused for good."""
    if total == 1:
        return f"This reply was not sent to the customer by SMS: {why}."
    if number == 1:
        return (
            f"This reply was not sent to the customer by SMS: {why}. "
            f"None of its {total} parts was sent."
        )
    sent = "part 1" if number == 2 else f"parts 1 to {number - 1}"
    return (
        f"This reply was only partly sent to the customer by SMS: {sent} of {total} went out, "
        f"part {number} and the rest were not sent: {why}."
    )

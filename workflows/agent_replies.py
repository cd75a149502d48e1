"""Agent replies to SMS (M8, M9, M12, B8) and delivery reports on them (B2)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customers import CustomerActivities, CustomerInput
    from activities.sms import DeliveryInput, SendSmsInput, SmsActivities
    from activities.zendesk import AgentInput, ZendeskActivities
    from core.messages import AgentComment, DeliveryStatus
    from workflows.tickets import ConversationPart
    from workflows.versions import LOCAL_READS

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
            patch=LOCAL_READS,
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
        sent = await self._calls.run(
            SmsActivities.send_sms,
            SendSmsInput(
                idempotency_key=f"reply:{comment.comment_id}",
                conversation_id=self._request.conversation_id,
                from_number=self._request.sender_number,
                to_number=self._request.customer_phone,
                body=comment.body,
                kind="agent_reply",
                ticket_id=comment.ticket_id,
                agent_id=comment.author_id,
            ),
        )
        if sent.sent:
            self._state.replies_sent += 1
        else:
            await self._not_sent(comment, sent.reason or "the SMS provider refused it", "refused")

    async def _not_sent(self, comment: AgentComment, why: str, code: str) -> None:
        await self._tickets.note(
            comment.ticket_id,
            f"This reply was not sent to the customer by SMS: {why}.",
            key=f"unsent-{code}-{comment.comment_id}",
        )

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

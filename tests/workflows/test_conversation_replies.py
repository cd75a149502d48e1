"""SmsConversation's agent replies (M8, M9, B8, B12), delivery reports (B2) and the texts the
brand sent from elsewhere (M11, M18), with fake activities on the time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.agent_media import AgentMediaActivities, AgentMediaInput
from activities.customers import CustomerActivities, CustomerInput
from activities.records import AttributionInput, OutboundRecordInput, RecordActivities
from activities.sms import DeliveryInput, SmsActivities
from activities.zendesk import AgentInput, ZendeskActivities
from core.split import MAX_BODY_CHARS
from tests.helpers.conversation_rig import (
    AGENT_ID,
    CUSTOMER,
    HOUR,
    SENDER,
    ConversationRig,
    conversation_rig,
    notes,
    texts_sent,
)
from tests.helpers.fake_activities import FIRST_TICKET_ID
from tests.helpers.replies import LONG_REPLY, words

TICKET = FIRST_TICKET_ID


@pytest.fixture
async def rig(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ConversationRig]:
    async with conversation_rig(time_skipping_env.client) as running:
        await running.text("Where is my order?")
        assert (await running.settled()).state.ticket_id == TICKET
        yield running


# --- M8/M9: agent replies --------------------------------------------------------------------


async def test_an_agent_reply_is_texted_exactly_once(rig: ConversationRig) -> None:
    reply = await rig.agent_reply(TICKET, "It ships today")
    await rig.settled()
    # The same comment again, as the reconciler or a redelivered webhook reports it.
    await rig.agent_reply(TICKET, "It ships today", comment_id=reply.comment_id)
    view = await rig.settled()

    [sent] = texts_sent(rig)
    assert sent.idempotency_key == f"reply:{reply.comment_id}"
    assert (sent.from_number, sent.to_number, sent.body) == (SENDER, CUSTOMER, "It ships today")
    assert (sent.kind, sent.ticket_id, sent.agent_id) == ("agent_reply", TICKET, AGENT_ID)
    assert sent.media_attachment_ids == []
    assert rig.fakes.args(ZendeskActivities.describe_agent, AgentInput) == [
        AgentInput(user_id=AGENT_ID)
    ]
    assert rig.fakes.args(CustomerActivities.customer_context, CustomerInput) == [
        CustomerInput(customer_phone=CUSTOMER)
    ]
    assert rig.fakes.args(AgentMediaActivities.agent_attachments, AgentMediaInput) == [
        AgentMediaInput(ticket_id=TICKET, comment_id=reply.comment_id)
    ]
    assert view.state.replies_sent == 1 and notes(rig) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"is_public": False},  # an internal note
        {"author_is_staff": False},  # the customer's own comment (smsdesk wrote their text)
    ],
)
async def test_a_comment_that_is_no_reply_is_not_texted(
    rig: ConversationRig, fields: dict[str, bool]
) -> None:
    before = len(rig.fakes.calls)
    await rig.agent_reply(TICKET, "Checking with the warehouse", **fields)
    view = await rig.settled()
    assert rig.fakes.calls[before:] == []  # not even the agent is looked up
    assert view.state.replies_sent == 0


async def test_a_reply_by_an_agent_with_the_customers_email_is_not_texted(
    rig: ConversationRig,
) -> None:
    rig.fakes.customer_email = "ana@example.com"
    rig.fakes.agent_emails[AGENT_ID] = "Ana@Example.com"
    reply = await rig.agent_reply(TICKET, "Testing as a customer")
    view = await rig.settled()
    assert texts_sent(rig) == []
    [note] = notes(rig)
    assert note.key == f"unsent-same-email-{reply.comment_id}"
    assert "the replying agent's email is the customer's own email" in note.body
    assert view.state.replies_sent == 0


async def test_a_reply_the_provider_refuses_is_noted_for_the_agent(rig: ConversationRig) -> None:
    rig.fakes.sms_refusal = "the customer has opted out of texts (STOP) at the carrier"
    reply = await rig.agent_reply(TICKET, "It ships today")
    view = await rig.settled()
    assert len(texts_sent(rig)) == 1
    [note] = notes(rig)
    assert (note.ticket_id, note.key) == (TICKET, f"unsent-refused-{reply.comment_id}")
    assert note.body == (
        "This reply was not sent to the customer by SMS: "
        "the customer has opted out of texts (STOP) at the carrier."
    )
    assert view.state.replies_sent == 0


async def test_a_long_reply_is_texted_in_parts_each_once(rig: ConversationRig) -> None:
    reply = await rig.agent_reply(TICKET, LONG_REPLY)
    view = await rig.settled()
    parts = texts_sent(rig)
    assert [p.idempotency_key for p in parts] == [
        f"reply:{reply.comment_id}",
        f"reply:{reply.comment_id}:2",
        f"reply:{reply.comment_id}:3",
    ]
    assert all(len(p.body) <= MAX_BODY_CHARS for p in parts)
    assert words(" ".join(p.body for p in parts)) == words(LONG_REPLY)
    assert view.state.replies_sent == 1  # one reply, however many texts


# --- B2: delivery reports --------------------------------------------------------------------


async def test_an_undelivered_text_is_noted_on_its_ticket_and_a_delivered_one_is_not(
    rig: ConversationRig,
) -> None:
    rig.fakes.delivery_ticket = TICKET
    await rig.delivery("SMout1", "delivered")
    await rig.delivery("SMout2", "undelivered", error_code=30003)
    await rig.settled()
    reports = rig.fakes.args(SmsActivities.record_delivery, DeliveryInput)
    assert [(r.provider_sid, r.status, r.error_code) for r in reports] == [
        ("SMout1", "delivered", None),
        ("SMout2", "undelivered", 30003),
    ]
    [note] = notes(rig)
    assert (note.ticket_id, note.key) == (TICKET, "undelivered-SMout2")
    assert note.body == (
        "This SMS could not be delivered to the customer (error 30003):\nYour parcel is on its way"
    )


# --- M11/M18: texts the brand sent from elsewhere ---------------------------------------------


async def test_a_campaign_text_is_noted_and_the_next_customer_text_attributed_to_it(
    rig: ConversationRig,
) -> None:
    sent_at = datetime.now(UTC) - HOUR
    await rig.outbound(
        "Spring sale: 20% off", campaign_or_flow_id="c1", name="Spring", sent_at=sent_at
    )
    view = await rig.settled()
    [recorded] = rig.fakes.args(RecordActivities.record_outbound, OutboundRecordInput)
    assert recorded.ticket_id == TICKET and recorded.text.body == "Spring sale: 20% off"
    assert view.state.attribution is not None and view.next_deadline is not None

    reply = await rig.text("Does it apply to shoes?")
    view = await rig.settled()
    [attribution] = rig.fakes.args(RecordActivities.record_attribution, AttributionInput)
    assert (attribution.message_sid, attribution.campaign_or_flow_id) == (reply.message_sid, "c1")
    assert (attribution.origin, attribution.ticket_id) == ("campaign", TICKET)
    shown, attributed = notes(rig)
    assert shown.body == 'Sent to the customer by SMS (campaign "Spring"):\nSpring sale: 20% off'
    assert attributed.tags == ["sms_attributed", "sms_campaign_c1"]
    assert attributed.key == f"attribution-{reply.message_sid}"
    assert view.state.attribution is not None
    assert view.state.attribution.attributed_to_sid == reply.message_sid


async def test_an_unanswered_campaign_window_ends_after_24_hours(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    async with conversation_rig(time_skipping_env.client) as rig:
        await rig.outbound("Flash sale", campaign_or_flow_id="c9")
        view = await rig.settled()
        assert view.state.ticket_id is None and view.next_deadline is not None
        await time_skipping_env.sleep(25 * HOUR)
        rested = await rig.rested()
        assert (rested.texts_received, rested.last_ticket_id) == (0, None)
        assert notes(rig) == []  # no ticket to note it on: it waits as the next one's context

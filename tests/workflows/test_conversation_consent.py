"""SmsConversation's keywords and consent (M4, M5, M12) with fake activities on the
time-skipping server: which texts reach a ticket, the auto-responder at most once a day, and
agent replies held back from a customer who opted out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.customers import AUTO_RESPONDER_KIND, CustomerActivities, TriageInput
from core.rules import KeywordClass
from tests.helpers.conversation_rig import (
    AUTO_RESPONDER,
    CUSTOMER,
    HOUR,
    SENDER,
    ConversationRig,
    comments,
    conversation_rig,
    notes,
    opened,
    texts_sent,
)
from tests.helpers.fake_activities import FIRST_TICKET_ID

TICKET = FIRST_TICKET_ID


def keywords(rig: ConversationRig) -> list[KeywordClass]:
    triaged = rig.fakes.args(CustomerActivities.triage_inbound, TriageInput)
    return [item.keyword for triage in triaged for item in triage.texts]


def written_bodies(rig: ConversationRig) -> list[str]:
    """Every customer text that reached Zendesk, as a ticket's first comment or a later one."""
    writes = [*opened(rig), *comments(rig)]
    return [text.body for write in writes for text in write.texts]


# --- M5: keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", KeywordClass.OPT_OUT),
        (" unsubscribe ", KeywordClass.OPT_OUT),
        ("start", KeywordClass.OPT_IN),
        ("JOIN", KeywordClass.SUBSCRIBE),  # the account's subscribe keyword
        ("Order", KeywordClass.AUTOMATION),  # the account's automation keyword
    ],
)
async def test_a_keyword_opens_no_ticket_and_the_conversation_rests(
    rig: ConversationRig, body: str, keyword: KeywordClass
) -> None:
    await rig.text(body)
    rested = await rig.rested()

    assert keywords(rig) == [keyword]
    assert "ensure_requester" not in rig.fakes.names() and written_bodies(rig) == []
    assert texts_sent(rig) == []  # a keyword is no reason for the auto-responder
    assert (rested.last_ticket_id, rested.texts_received) == (None, 1)


async def test_help_is_a_keyword_that_still_opens_a_ticket(rig: ConversationRig) -> None:
    await rig.text("help")
    view = await rig.settled()
    assert keywords(rig) == [KeywordClass.HELP]
    assert written_bodies(rig) == ["help"] and view.state.ticket_id == TICKET


async def test_a_keyword_in_a_burst_stays_off_the_ticket_and_the_rest_is_written(
    rig: ConversationRig,
) -> None:
    await rig.text("Hi")
    await rig.settled()
    await rig.text("JOIN")
    await rig.text("When do you open?")
    await rig.settled()
    assert written_bodies(rig) == ["Hi", "When do you open?"]


# --- M12: consent ----------------------------------------------------------------------------


async def test_a_text_without_consent_gets_the_auto_responder_at_most_once_a_day(
    rig: ConversationRig, time_skipping_env: WorkflowEnvironment
) -> None:
    rig.fakes.consented = False
    first = await rig.text("Hello?")
    await rig.rested()  # no ticket: each text's run rests at once
    [reply] = texts_sent(rig)
    assert reply.idempotency_key == f"auto-responder:{first.message_sid}"
    assert (reply.kind, reply.body) == (AUTO_RESPONDER_KIND, AUTO_RESPONDER)
    assert (reply.from_number, reply.to_number) == (SENDER, CUSTOMER)

    await rig.text("Hello??")  # a fresh run: the message log tells it the last sending
    await rig.rested()
    assert len(texts_sent(rig)) == 1

    await time_skipping_env.sleep(25 * HOUR)
    await rig.text("Anyone?")
    await rig.rested()
    assert len(texts_sent(rig)) == 2
    assert written_bodies(rig) == []  # none of it reached a ticket


async def test_stop_holds_back_agent_replies_and_start_lets_them_through(
    rig: ConversationRig,
) -> None:
    await rig.text("Where is my order?")
    await rig.settled()
    await rig.text("STOP")
    await rig.settled()
    refused = await rig.agent_reply(TICKET, "It ships today")
    view = await rig.settled()

    assert written_bodies(rig) == ["Where is my order?"]  # STOP is not written to the ticket
    assert texts_sent(rig) == []
    [note] = notes(rig)
    assert note.ticket_id == TICKET and note.key == f"unsent-no-consent-{refused.comment_id}"
    assert note.body == (
        "This reply was not sent to the customer by SMS: the customer has no SMS consent "
        "(opted out or never subscribed)."
    )
    assert view.state.replies_sent == 0

    await rig.text("START")
    await rig.agent_reply(TICKET, "It ships today, sorry")
    view = await rig.settled()
    assert [t.body for t in texts_sent(rig)] == ["It ships today, sorry"]
    assert view.state.replies_sent == 1 and len(notes(rig)) == 1


async def test_texts_from_before_the_sync_was_enabled_reach_no_ticket(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    enabled = datetime.now(UTC) + timedelta(minutes=5)
    async with conversation_rig(time_skipping_env.client, sms_sync_enabled_at=enabled) as rig:
        await rig.text("An old text replayed by the provider")
        rested = await rig.rested()
        [triage] = rig.fakes.args(CustomerActivities.triage_inbound, TriageInput)
        assert triage.sms_sync_enabled_at == enabled
        assert written_bodies(rig) == [] and texts_sent(rig) == []
        assert rested.last_ticket_id is None

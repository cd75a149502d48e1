"""The product database on SQLite and PostgreSQL (the latter when TEST_POSTGRES_URL is set)."""

from sqlalchemy import Engine

from core.tables import Consent, Direction, MessageLog, SendStatus, TicketLink
from infra import db


def outbound(key: str) -> MessageLog:
    return MessageLog(
        conversation_id="c1",
        direction=Direction.OUTBOUND,
        kind="agent_reply",
        from_number="+15550100001",
        to_number="+15551230001",
        body="It ships today",
        encoding="GSM-7",
        segments=1,
        idempotency_key=key,
        status=SendStatus.SENDING,
    )


def test_send_journal_returns_the_earlier_row_for_a_repeated_key(any_engine: Engine) -> None:
    first, first_is_new = db.begin_send(any_engine, message=outbound("reply:1"))
    assert first.id is not None
    db.finish_send(any_engine, message_id=first.id, status=SendStatus.SENT, provider_sid="SM1")
    again, again_is_new = db.begin_send(any_engine, message=outbound("reply:1"))
    assert (first_is_new, again_is_new) == (True, False)
    assert (again.id, again.status, again.provider_sid) == (first.id, SendStatus.SENT, "SM1")
    assert db.known_sids(any_engine, provider_sids=["SM1", "SM2"]) == {"SM1"}


def test_a_status_callback_before_the_send_is_written_keeps_its_final_status(
    any_engine: Engine,
) -> None:
    row, _ = db.begin_send(any_engine, message=outbound("reply:2"))
    assert row.id is not None
    # The callback URL names the row, so the callback finds it before the sid is recorded.
    reported = db.set_delivery_status(
        any_engine,
        text_id=row.id,
        provider_sid="SM9",
        status=SendStatus.UNDELIVERED,
        error_code=30003,
    )
    assert reported is not None and reported.body == "It ships today"
    db.finish_send(any_engine, message_id=row.id, status=SendStatus.SENT, provider_sid="SM9")
    final = db.sent_text(any_engine, text_id=None, provider_sid="SM9")
    assert final is not None
    assert (final.id, final.status, final.error_code) == (row.id, SendStatus.UNDELIVERED, 30003)


def test_a_status_callback_naming_another_text_finds_nothing(any_engine: Engine) -> None:
    row, _ = db.begin_send(any_engine, message=outbound("reply:3"))
    assert row.id is not None
    db.finish_send(any_engine, message_id=row.id, status=SendStatus.SENT, provider_sid="SM1")
    assert db.sent_text(any_engine, text_id=row.id, provider_sid="SM2") is None
    assert db.sent_text(any_engine, text_id=row.id + 1, provider_sid="SM1") is None
    assert db.sent_text(any_engine, text_id=row.id, provider_sid="SM1") is not None


def inbound(sid: str) -> MessageLog:
    return MessageLog(
        conversation_id="c1",
        direction=Direction.INBOUND,
        kind="customer",
        from_number="+15551230001",
        to_number="+15550100001",
        body="Where is my order?",
        encoding="GSM-7",
        segments=1,
        provider_sid=sid,
        status=SendStatus.RECEIVED,
    )


def test_inbound_texts_are_logged_once_per_provider_sid(any_engine: Engine) -> None:
    assert db.insert_once(any_engine, row=inbound("SMin")) is True
    assert db.insert_once(any_engine, row=inbound("SMin")) is False
    assert len(db.messages_for(any_engine, conversation_id="c1")) == 1


def test_a_burst_is_logged_once_and_the_last_sending_of_a_kind_is_answered(
    any_engine: Engine,
) -> None:
    burst = [inbound("SMa"), inbound("SMb")]
    assert db.log_inbound(any_engine, rows=burst, conversation_id="c1", sent_kind="x") is None
    # A retried triage logs nothing twice; a new text of the same burst is added.
    again = [inbound("SMa"), inbound("SMb"), inbound("SMc")]
    db.log_inbound(any_engine, rows=again, conversation_id="c1", sent_kind="x")
    logged = db.messages_for(any_engine, conversation_id="c1")
    assert sorted(row.provider_sid or "" for row in logged) == ["SMa", "SMb", "SMc"]
    assert {(row.direction, row.status) for row in logged} == {
        (Direction.INBOUND, SendStatus.RECEIVED)
    }
    sent, _ = db.begin_send(any_engine, message=outbound("auto-1"))
    last = db.log_inbound(any_engine, rows=[], conversation_id="c1", sent_kind="agent_reply")
    assert last is not None and last.replace(tzinfo=None) == sent.created_at.replace(tzinfo=None)
    assert (
        db.log_inbound(any_engine, rows=[], conversation_id="c2", sent_kind="agent_reply") is None
    )


def test_consent_keywords_are_recorded(any_engine: Engine) -> None:
    assert db.get_consent(any_engine, phone="+15551230001") is None
    db.set_consent(any_engine, phone="+15551230001", consent=Consent.OPTED_OUT, keyword="STOP")
    db.set_consent(any_engine, phone="+15551230001", consent=Consent.OPTED_IN, keyword="START")
    assert db.get_consent(any_engine, phone="+15551230001") is Consent.OPTED_IN


def test_ticket_links_find_the_latest_ticket_and_ignore_relinking(any_engine: Engine) -> None:
    for ticket_id in (7, 9):
        db.insert_once(
            any_engine,
            row=TicketLink(
                ticket_id=ticket_id,
                conversation_id="c1",
                sender_number="+15550100001",
                customer_phone="+15551230001",
            ),
        )
    db.insert_once(
        any_engine,
        row=TicketLink(ticket_id=7, conversation_id="other", sender_number="x", customer_phone="y"),
    )
    latest = db.latest_ticket(any_engine, conversation_id="c1")
    assert latest is not None and latest.ticket_id == 9
    link = db.ticket_link(any_engine, ticket_id=7)
    assert link is not None and link.conversation_id == "c1"

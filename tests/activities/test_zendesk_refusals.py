"""The Zendesk activities when Zendesk refuses, under ActivityEnvironment with a scripted
Zendesk (`httpx.MockTransport`): every activity hands Temporal the same retry decision for the
same answer, and the refusals that mean something (a ticket closed between read and write,
upload tokens that expired, B7) become results or their own failure type."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.uploads import UPLOADS_EXPIRED
from activities.zendesk import (
    AgentInput,
    CustomerCommentInput,
    CustomerText,
    InternalNoteInput,
    OpenTicketInput,
    RequesterInput,
    TicketLookupInput,
    TransitionInput,
    ZendeskActivities,
)
from core.messages import TicketStatus
from tests.helpers.scripted_http import Answer, error, ok, scripted_zendesk

HOUR = timedelta(hours=1)
TICKET = {"id": 42, "status": "solved"}
CLOSED_REFUSAL = {
    "error": "RecordInvalid",
    "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
}
UPLOADS_REFUSAL = {"error": "RecordInvalid", "details": {"uploads": [{"description": "bad"}]}}

Run = Callable[[ZendeskActivities, ActivityEnvironment], Awaitable[Any]]


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def run_against(engine: Engine, run: Run, *answers: Answer, number: int = 1) -> Any:
    async with scripted_zendesk(*answers) as (zendesk, _):
        return await run(ZendeskActivities(zendesk, engine), attempt(number))


def texts(*, uploads_issued: timedelta | None = None) -> list[CustomerText]:
    if uploads_issued is None:
        return [CustomerText(message_sid="SM1", body="Look")]
    issued = datetime.now(UTC) - uploads_issued
    return [
        CustomerText(
            message_sid="SM1", body="Look", media_count=1, uploads=["tok"], uploads_issued_at=issued
        )
    ]


def open_request(**changes: Any) -> OpenTicketInput:
    return OpenTicketInput(
        conversation_id="sms-conversation-x",
        sender_number="+15550100001",
        customer_phone="+15551230001",
        requester_id=7,
        texts=texts(),
        context_until=datetime.now(UTC),
    ).model_copy(update=changes)


def comment_request(**changes: Any) -> CustomerCommentInput:
    return CustomerCommentInput(
        ticket_id=42, requester_id=7, texts=texts(), reopen=False
    ).model_copy(update=changes)


CLOSE = TransitionInput(ticket_id=42, when=[TicketStatus.SOLVED], to_status=TicketStatus.CLOSED)

#: Each Zendesk activity, run once, and the request whose answer decides it.
ACTIVITIES: dict[str, Run] = {
    "ensure_requester": lambda a, env: env.run(
        a.ensure_requester, RequesterInput(customer_phone="+15551230001")
    ),
    "open_ticket": lambda a, env: env.run(a.open_ticket, open_request()),
    "add_customer_comment": lambda a, env: env.run(a.add_customer_comment, comment_request()),
    "add_internal_note": lambda a, env: env.run(
        a.add_internal_note, InternalNoteInput(ticket_id=42, body="n", key="k")
    ),
    "describe_agent": lambda a, env: env.run(a.describe_agent, AgentInput(user_id=77)),
    "get_ticket_status": lambda a, env: env.run(
        a.get_ticket_status, TicketLookupInput(ticket_id=42)
    ),
    "transition_ticket": lambda a, env: env.run(a.transition_ticket, CLOSE),
}


@pytest.mark.parametrize("name", ACTIVITIES)
@pytest.mark.parametrize(
    ("answer", "kind", "retried", "delay"),
    [
        (error(401), "Unauthorized", False, None),
        (error(404), "NotFound", False, None),
        (error(400), "RejectedRequest", False, None),
        (error(429, headers={"Retry-After": "30"}), "RateLimited", True, timedelta(seconds=30)),
        (error(503), "RetryableStatus", True, None),
        (httpx.ReadTimeout, "TransportFailure", True, None),
    ],
)
async def test_every_zendesk_activity_makes_the_same_retry_decision(
    engine: Engine, name: str, answer: Answer, kind: str, retried: bool, delay: timedelta | None
) -> None:
    with pytest.raises(ApplicationError) as decided:
        await run_against(engine, ACTIVITIES[name], answer)
    assert (decided.value.type, decided.value.non_retryable) == (kind, not retried)
    assert decided.value.next_retry_delay == delay


async def test_a_ticket_closed_between_the_read_and_the_write_is_reported_closed(
    engine: Engine,
) -> None:
    moved = await run_against(
        engine, ACTIVITIES["transition_ticket"], ok({"ticket": TICKET}), error(422, CLOSED_REFUSAL)
    )
    assert (moved.ticket_id, moved.status) == (42, TicketStatus.CLOSED)


@pytest.mark.parametrize("name", ["add_customer_comment", "add_internal_note", "transition_ticket"])
async def test_a_422_that_is_not_about_a_closed_ticket_fails_for_good(
    engine: Engine, name: str
) -> None:
    other = {"error": "RecordInvalid", "details": {"requester": [{"description": "invalid"}]}}
    answers = [ok({"ticket": TICKET})] if name == "transition_ticket" else []
    with pytest.raises(ApplicationError) as decided:
        await run_against(engine, ACTIVITIES[name], *answers, error(422, other))
    assert (decided.value.type, decided.value.non_retryable) == ("Unprocessable", True)


# --- B7: upload tokens that expired -----------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        lambda a, env: env.run(a.open_ticket, open_request(texts=texts(uploads_issued=2 * HOUR))),
        lambda a, env: env.run(
            a.add_customer_comment, comment_request(texts=texts(uploads_issued=2 * HOUR))
        ),
    ],
    ids=["open_ticket", "add_customer_comment"],
)
async def test_tokens_past_their_hour_are_never_sent(engine: Engine, run: Run) -> None:
    with pytest.raises(ApplicationError) as decided:
        await run_against(engine, run)  # the script holds no answer: nothing may be sent
    assert (decided.value.type, decided.value.non_retryable) == (UPLOADS_EXPIRED, True)


async def test_tokens_still_fresh_are_attached_to_the_comment(engine: Engine) -> None:
    async with scripted_zendesk(ok({"ticket": TICKET | {"status": "open"}})) as (zendesk, script):
        await attempt(1).run(
            ZendeskActivities(zendesk, engine).add_customer_comment,
            comment_request(texts=texts(uploads_issued=timedelta(minutes=10))),
        )
    assert script.body()["ticket"]["comment"]["uploads"] == ["tok"]


async def test_a_retried_create_with_old_tokens_is_sent_to_replay_the_first(engine: Engine) -> None:
    """Zendesk's idempotency store answers a replayed create without looking at the tokens."""
    request = open_request(texts=texts(uploads_issued=2 * HOUR))
    created = await run_against(
        engine,
        lambda a, env: env.run(a.open_ticket, request),
        ok(
            {"ticket": TICKET | {"status": "new"}},
            status=201,
            headers={"x-idempotency-lookup": "hit"},
        ),
        number=2,
    )
    assert created.ticket_id == 42


@pytest.mark.parametrize("name", ["open_ticket", "add_customer_comment"])
async def test_zendesk_refusing_the_tokens_means_upload_again(engine: Engine, name: str) -> None:
    with pytest.raises(ApplicationError) as decided:
        await run_against(engine, ACTIVITIES[name], error(422, UPLOADS_REFUSAL))
    assert (decided.value.type, decided.value.non_retryable) == (UPLOADS_EXPIRED, True)

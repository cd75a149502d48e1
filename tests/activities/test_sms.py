"""The SMS send journal under ActivityEnvironment: ambiguous failures are never blindly re-sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.sms import SendSmsInput, SmsActivities
from clients.twilio import TwilioClient
from core.tables import Direction, MessageLog, SendStatus
from infra import db


class FakeTwilio:
    """A Twilio Messages endpoint that can lose its answer after sending (a timeout)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.lose_next_answer = False
        self.refuse_with: int | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            to = request.url.params["To"]
            messages = [m for m in reversed(self.sent) if m["to"] == to]
            return httpx.Response(200, json={"messages": messages})
        if self.refuse_with is not None:
            return httpx.Response(400, json={"code": self.refuse_with, "message": "refused"})
        form = dict(httpx.QueryParams(request.content.decode()))
        message = {
            "sid": f"SM{len(self.sent):032d}",
            "status": "queued",
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "num_segments": "1",
        }
        self.sent.append(message)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(201, json=message)


def activities(fake: FakeTwilio, engine: Engine) -> SmsActivities:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = TwilioClient(http, base_url="https://api.test", account_sid="AC1", auth_token="t")
    return SmsActivities(
        client, engine, status_callback_url="https://hooks.test/webhooks/sms/status"
    )


def reply(key: str, body: str = "It ships today") -> SendSmsInput:
    return SendSmsInput(
        idempotency_key=key,
        conversation_id="c1",
        from_number="+15550100001",
        to_number="+15551230001",
        body=body,
        kind="agent_reply",
    )


async def run(env: ActivityEnvironment, fn: Callable[..., Any], arg: Any) -> Any:
    return await env.run(fn, arg)


async def test_a_retry_after_a_lost_answer_finds_the_sent_text_instead_of_resending(
    engine: Engine,
) -> None:
    fake = FakeTwilio()
    sms = activities(fake, engine)
    fake.lose_next_answer = True
    with pytest.raises(ApplicationError) as failure:
        await run(ActivityEnvironment(), sms.send_sms, reply("reply:1"))
    assert failure.value.type == "TransportFailure" and not failure.value.non_retryable

    result = await run(ActivityEnvironment(), sms.send_sms, reply("reply:1"))
    assert result.sent and result.provider_sid == fake.sent[0]["sid"]
    assert len(fake.sent) == 1
    row = db.find_by_key(engine, idempotency_key="reply:1")
    assert row is not None and row.status is SendStatus.SENT


async def test_an_identical_earlier_text_does_not_count_as_this_one(engine: Engine) -> None:
    fake = FakeTwilio()
    sms = activities(fake, engine)
    await run(ActivityEnvironment(), sms.send_sms, reply("reply:1", "Thanks!"))
    # An attempt for the second "Thanks!" crashed before reaching the provider, leaving its
    # journal row SENDING; the retry must send it, not mistake the first "Thanks!" for it.
    db.begin_send(engine, message=_journal(reply("reply:2", "Thanks!")))
    result = await run(ActivityEnvironment(), sms.send_sms, reply("reply:2", "Thanks!"))
    assert result.sent and len(fake.sent) == 2
    assert result.provider_sid == fake.sent[1]["sid"]


async def test_a_completed_send_is_not_repeated(engine: Engine) -> None:
    fake = FakeTwilio()
    sms = activities(fake, engine)
    first = await run(ActivityEnvironment(), sms.send_sms, reply("reply:1"))
    again = await run(ActivityEnvironment(), sms.send_sms, reply("reply:1"))
    assert first.provider_sid == again.provider_sid and len(fake.sent) == 1


async def test_opted_out_recipient_is_reported_not_retried(engine: Engine) -> None:
    fake = FakeTwilio()
    fake.refuse_with = 21610
    sms = activities(fake, engine)
    result = await run(ActivityEnvironment(), sms.send_sms, reply("reply:1"))
    assert (result.sent, result.error_code) == (False, 21610)
    assert result.reason is not None and "opted out" in result.reason
    row = db.find_by_key(engine, idempotency_key="reply:1")
    assert row is not None and (row.status, row.error_code) == (SendStatus.FAILED, 21610)


def _journal(request: SendSmsInput) -> MessageLog:
    return MessageLog(
        conversation_id=request.conversation_id,
        direction=Direction.OUTBOUND,
        kind=request.kind,
        from_number=request.from_number,
        to_number=request.to_number,
        body=request.body,
        encoding="GSM-7",
        segments=1,
        idempotency_key=request.idempotency_key,
        status=SendStatus.SENDING,
    )

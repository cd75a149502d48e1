"""The forwarder (B9): journaled events reach their workflow once Temporal is back, exactly
once and in arrival order per workflow, however many forwarders share the journal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.messages import InboundSms
from core.settings import Settings
from core.tables import MessageLog, SendStatus
from infra import db
from intake import journal
from intake.door import Door
from intake.forwarder import Forwarder
from intake.handoff import Handoff

SENDER = "+15550100001"


def _settings(client: Client, **changes: Any) -> Settings:
    queue = f"intake-{uuid.uuid4().hex[:8]}"  # no worker polls it: the history shows the signals
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=client.service_client.config.target_host,
        temporal_task_queue=queue,
        zendesk_task_queue=f"{queue}-zendesk",
        sms_numbers=SENDER,
        # These tests are about order and claims: the door waits for Temporal, however busy
        # the machine (a slow Temporal is tests/intake/test_slow_temporal.py).
        intake_wait_seconds=10,
    ).model_copy(update=changes)


def _text(customer: str, sid: str) -> InboundSms:
    return InboundSms(
        message_sid=sid,
        customer_phone=customer,
        sender_number=SENDER,
        body=f"text {sid}",
        received_at=datetime.now(UTC),
    )


async def _signalled_sids(client: Client, workflow_id: str) -> list[str]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    sids = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            sids.append(_payload_sid(client, attrs.input.payloads[0]))
    return sids


def _payload_sid(client: Client, payload: object) -> str:
    [text] = client.data_converter.payload_converter.from_payloads([payload], [InboundSms])
    assert isinstance(text, InboundSms)
    return text.message_sid


async def test_two_forwarders_deliver_each_event_once_in_order(
    temporal_env: WorkflowEnvironment, any_engine: Engine
) -> None:
    client = temporal_env.client
    settings = _settings(client)
    customers = [f"+1555{uuid.uuid4().int % 10_000_000:07d}" for _ in range(3)]
    door = Door(client, any_engine, settings)
    expected: dict[str, list[str]] = {}
    for customer in customers:
        sids = [f"SM{uuid.uuid4().hex}" for _ in range(8)]
        for sid in sids:
            handoff = Handoff.conversation_event(
                _text(customer, sid),
                sender_number=SENDER,
                customer_phone=customer,
                settings=settings,
            )
            assert await door.journal(handoff) == "journaled"
            assert await door.journal(handoff) == "duplicate"  # a redelivery while it waits
        expected[handoff.workflow_id] = sids

    first, second = Forwarder(door), Forwarder(door)
    await asyncio.gather(first.forward_once(), second.forward_once())
    while journal.backlog(any_engine).events:  # a claim held by the other may have skipped some
        await asyncio.gather(first.forward_once(), second.forward_once())

    assert first.forwarded + second.forwarded == 24
    try:
        for workflow_id, sids in expected.items():
            assert await _signalled_sids(client, workflow_id) == sids
    finally:
        for workflow_id in expected:
            await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_the_forwarder_gives_way_while_the_door_sheds_load_but_not_for_ever(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    client = temporal_env.client
    settings = _settings(client, intake_max_in_flight=1)
    door = Door(client, engine, settings)
    shed: list[str] = []
    calm = asyncio.Event()

    async def storm() -> None:
        """A text every 0.05 s finds Temporal's only slot taken, as in a reply storm."""
        while not calm.is_set():
            customer = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
            handoff = Handoff.conversation_event(
                _text(customer, f"SM{uuid.uuid4().hex}"),
                sender_number=SENDER,
                customer_phone=customer,
                settings=settings,
            )
            async with door.temporal_slots:
                assert await door.hand_over(handoff) == "journaled"
            shed.append(handoff.workflow_id)
            await asyncio.sleep(0.05)

    storming = asyncio.create_task(storm())
    while not shed:
        await asyncio.sleep(0.01)
    assert door.shed_within(1.0)
    forwarder = Forwarder(door, idle_seconds=0.05, max_give_way=timedelta(seconds=1.5))
    forwarding = asyncio.create_task(forwarder.run())
    started = asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(30):
            while not forwarder.forwarded:
                await asyncio.sleep(0.05)
        first_forward = asyncio.get_running_loop().time() - started
        calm.set()  # not a cancel: a text being journaled would be missed from `shed`
        await storming
        async with asyncio.timeout(30):
            # Each event leaves the journal as it is delivered; the count grows when the
            # pass ends, so wait for both.
            while journal.backlog(engine).events or forwarder.forwarded < len(shed):
                await asyncio.sleep(0.05)
    finally:
        storming.cancel()
        forwarding.cancel()
        await asyncio.gather(storming, forwarding, return_exceptions=True)
        for workflow_id in shed:
            await client.get_workflow_handle(workflow_id).terminate("test over")
    assert first_forward >= 1.4  # it gave way while the door was shedding...
    assert forwarder.forwarded == len(shed)  # ...and still forwarded during it, then the rest


async def test_an_event_waits_behind_journaled_ones_and_a_handled_text_is_not_resent(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    client = temporal_env.client
    settings = _settings(client)
    customer = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    door = Door(client, engine, settings)

    def handoff(sid: str) -> Handoff:
        return Handoff.conversation_event(
            _text(customer, sid), sender_number=SENDER, customer_phone=customer, settings=settings
        )

    assert await door.journal(handoff("SMfirst")) == "journaled"
    # Temporal is up, but the conversation has an event waiting: this one queues behind it.
    assert await door.hand_over(handoff("SMsecond")) == "journaled"
    # A text the message log holds was handled by an earlier run: it is not delivered again.
    assert await door.journal(handoff("SMhandled")) == "journaled"
    handled = MessageLog(
        conversation_id=handoff("x").workflow_id,
        direction="inbound",
        kind="customer",
        from_number=customer,
        to_number=SENDER,
        body="already handled",
        encoding="GSM-7",
        segments=1,
        provider_sid="SMhandled",
        status=SendStatus.RECEIVED,
    )
    db.insert_once(engine, row=handled)
    moved, blocked = await Forwarder(door).forward_once()
    assert (moved, blocked) == (3, False)
    workflow_id = handoff("x").workflow_id
    try:
        assert await _signalled_sids(client, workflow_id) == ["SMfirst", "SMsecond"]
        # Caught up: the next event goes straight to Temporal.
        assert await door.hand_over(handoff("SMthird")) == "accepted"
        assert await _signalled_sids(client, workflow_id) == ["SMfirst", "SMsecond", "SMthird"]
    finally:
        await client.get_workflow_handle(workflow_id).terminate("test over")


class _RefuseOnce(Interceptor):
    """Temporal answering UNAVAILABLE the first time it is handed one given text."""

    def __init__(self, sid: str) -> None:
        self.sid = sid

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _RefusingOutbound(next, self)


class _RefusingOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, refuse: _RefuseOnce) -> None:
        super().__init__(next)
        self.refuse = refuse

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        texts = [arg for arg in input.start_signal_args if isinstance(arg, InboundSms)]
        if any(text.message_sid == self.refuse.sid for text in texts):
            self.refuse.sid = ""
            raise RPCError("refused for the test", RPCStatusCode.UNAVAILABLE, b"")
        return await super().start_workflow(input)


async def test_a_refusal_mid_read_keeps_that_event_and_the_ones_after_it(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    config = temporal_env.client.config()
    config["interceptors"] = [_RefuseOnce("SMsecond")]
    client = Client(**config)
    settings = _settings(client)
    customer = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    door = Door(client, engine, settings)
    sids = ["SMfirst", "SMsecond", "SMthird"]
    for sid in sids:
        handoff = Handoff.conversation_event(
            _text(customer, sid), sender_number=SENDER, customer_phone=customer, settings=settings
        )
        assert await door.journal(handoff) == "journaled"
    workflow_id = handoff.workflow_id
    forwarder = Forwarder(door)

    try:
        assert await forwarder.forward_once() == (1, True)
        # The delivered one is gone from the journal; the refused one waits, first in line.
        waiting = journal.waiting_events(engine, workflow_id=workflow_id, limit=10)
        assert [row.dedupe_key.rsplit(":", 1)[1] for row in waiting] == sids[1:]
        assert [row.attempts for row in waiting] == [1, 0]
        assert await forwarder.forward_once() == (2, False)
        assert journal.backlog(engine).events == 0
        assert await _signalled_sids(client, workflow_id) == sids
    finally:
        await client.get_workflow_handle(workflow_id).terminate("test over")


def test_a_claim_is_one_forwarders_until_its_lease_runs_out(engine: Engine) -> None:
    lease = timedelta(seconds=60)
    assert journal.claim(engine, workflow_id="w", owner="a", lease=lease)
    assert not journal.claim(engine, workflow_id="w", owner="b", lease=lease)
    assert journal.claim(engine, workflow_id="w", owner="a", lease=lease)  # renewed
    assert journal.claim(engine, workflow_id="x", owner="b", lease=lease)
    journal.release(engine, workflow_id="w", owner="b")  # not b's: nothing happens
    assert not journal.claim(engine, workflow_id="w", owner="b", lease=lease)
    journal.release(engine, workflow_id="w", owner="a")
    assert journal.claim(engine, workflow_id="w", owner="b", lease=lease)
    # A dead claimant's lease expires and another takes over.
    assert journal.claim(engine, workflow_id="y", owner="a", lease=timedelta(seconds=-1))
    assert journal.claim(engine, workflow_id="y", owner="b", lease=lease)


async def test_an_unreadable_event_holds_its_own_workflow_only(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    client = temporal_env.client
    settings = _settings(client)
    door = Door(client, engine, settings)
    broken = journal.NewEvent(
        workflow_id="sms-conversation-broken",
        action="signal_with_start",
        dedupe_key="sms-conversation-broken|sms:SMbroken",
        sender_number=SENDER,
        customer_phone="+15551230009",
        payload='{"kind": "no_such_event"}',
    )
    assert journal.add(engine, event=broken)
    customer = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    handoff = Handoff.conversation_event(
        _text(customer, "SMfine"), sender_number=SENDER, customer_phone=customer, settings=settings
    )
    await door.journal(handoff)

    moved, blocked = await Forwarder(door).forward_once()
    assert (moved, blocked) == (1, True)
    try:
        assert await _signalled_sids(client, handoff.workflow_id) == ["SMfine"]
    finally:
        await client.get_workflow_handle(handoff.workflow_id).terminate("test over")
    [held] = journal.waiting_events(engine, workflow_id="sms-conversation-broken", limit=5)
    assert held.attempts == 1 and held.last_error is not None and "no_such_event" in held.last_error

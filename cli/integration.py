"""`python starter.py test-integration` (M19): one test text through the whole running path,
reported hop by hop.

1. webhook accepted: a signed inbound text is posted to `PUBLIC_BASE_URL` as the SMS provider
   would post it;
2. ticket created: the conversation workflow (queried through Temporal) handled the text and
   holds a ticket;
3. agent reply sent: a public comment written through the Zendesk API came back as an SMS (the
   conversation's `replies_sent` grows; the provider's sid is read from the message log).

Every hop that fails says what to check; the hops after it are skipped. Exit code 0 only when
all three passed. It runs against whatever the settings point at: the dev stack's sandboxes or
the real services.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from cli.common import database, temporal_client, zendesk_session
from cli.conversation import post_agent_comment, post_inbound_text
from clients.errors import ApiError
from core.conversation import STATE_QUERY, conversation_id
from core.settings import Settings
from core.tables import Direction
from devstack.sandboxes import DEMO_PROFILES
from infra import db

DEMO_CUSTOMER = str(DEMO_PROFILES[0]["phone_number"])
QUERY_TIMEOUT = timedelta(seconds=3)
# How many of the conversation's latest runs to search for the test text (see `_state_holding`).
RUNS_LOOKED_BACK = 5


@dataclass
class Hop:
    name: str
    passed: bool | None = None  # None: skipped
    detail: str = ""

    def line(self) -> str:
        mark = {True: " ok ", False: "FAIL", None: "skip"}[self.passed]
        return f"  [{mark}] {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Run:
    settings: Settings
    http: httpx.AsyncClient
    temporal: Client
    sender: str
    customer: str
    timeout: float
    author_id: int | None

    @property
    def workflow_id(self) -> str:
        return conversation_id(self.sender, self.customer, self.settings)

    @property
    def ui_link(self) -> str:
        base = self.settings.temporal_ui_url.rstrip("/")
        return f"{base}/namespaces/{self.settings.temporal_namespace}/workflows/{self.workflow_id}"


async def _state(run: Run, run_id: str | None = None) -> dict[str, Any]:
    handle = run.temporal.get_workflow_handle(run.workflow_id, run_id=run_id)
    view: dict[str, Any] = await handle.query(STATE_QUERY, rpc_timeout=QUERY_TIMEOUT)
    return view


async def _state_holding(run: Run, key: str) -> dict[str, Any]:
    """The conversation as seen by the newest run that received the event `key`.

    A conversation without a ticket completes once it has handled a text, and a later event
    (the delivery report of the auto-responder it just sent, say) starts a fresh run that never
    saw the text: querying the workflow id alone would then wait for the text in vain. A run
    continued-as-new carries its seen ids, so the newest run that has the key is the current one.
    """
    latest = await _state(run)
    if key in latest["state"]["seen_ids"]:
        return latest
    query = f'WorkflowId = "{run.workflow_id}"'
    executions = [e async for e in run.temporal.list_workflows(query, limit=RUNS_LOOKED_BACK)]
    for execution in sorted(executions, key=lambda e: e.start_time, reverse=True):
        view = await _state(run, execution.run_id)
        if key in view["state"]["seen_ids"]:
            return view
    return latest


async def _poll(
    run: Run, done: Any, *, holding: str | None = None
) -> tuple[dict[str, Any] | None, Exception | None]:
    """Query the conversation (the run that received the event `holding`, if given) until
    `done(view)` or the timeout; the last view and error."""
    deadline = asyncio.get_running_loop().time() + run.timeout
    view: dict[str, Any] | None = None
    error: Exception | None = None
    while True:
        try:
            view = await (_state(run) if holding is None else _state_holding(run, holding))
            error = None
            if done(view):
                return view, None
        except Exception as exc:  # not started yet, no worker to answer, a new run starting
            error = exc
        if asyncio.get_running_loop().time() > deadline:
            return view, error
        await asyncio.sleep(0.2)


async def _ticket_before(run: Run) -> int | None:
    """The conversation's ticket before the test text, if it has one and answers at once."""
    try:
        ticket_id: int | None = (await _state(run))["state"]["ticket_id"]
    except Exception:  # no conversation yet, or nobody to answer: the hops will tell
        return None
    return ticket_id


async def hop_webhook(run: Run, body: str) -> tuple[Hop, str | None]:
    hop = Hop("webhook accepted")
    url = run.settings.public_base_url.rstrip("/") + "/webhooks/sms/inbound"
    try:
        response, sid = await post_inbound_text(
            run.settings, run.http, from_number=run.customer, to_number=run.sender, body=body
        )
    except httpx.TransportError as exc:
        hop.passed = False
        hop.detail = f"{url} unreachable ({exc!r}): is the webhook server running?"
        return hop, None
    ignored = response.headers.get("X-Smsdesk-Ignored")
    if response.status_code == 200 and ignored:
        hop.passed, hop.detail = (
            False,
            f"{ignored}; switch it on: python starter.py setup --sms-sync",
        )
    elif response.status_code == 200:
        hop.passed, hop.detail = True, f"200 for {sid}"
    elif response.status_code == 401:
        hop.passed = False
        hop.detail = (
            f"401 at {url}: the signature was refused; TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL must "
            "match the webhook server's"
        )
    else:
        hop.passed, hop.detail = False, f"{response.status_code} at {url}: {response.text[:200]}"
    return hop, sid


async def hop_ticket(run: Run, sid: str) -> tuple[Hop, dict[str, Any] | None]:
    hop = Hop("ticket created")
    key = f"sms:{sid}"

    def handled(view: dict[str, Any]) -> bool:
        state = view["state"]
        return key in state["seen_ids"] and not view["queued"] and not view["busy"]

    view, error = await _poll(run, handled, holding=key)
    state = view["state"] if view else None
    if view is None or not handled(view):
        hop.passed = False
        if view is None:
            hop.detail = (
                f"no answer from the conversation within {run.timeout:g} s ({error!r}): is the "
                f"worker running on task queue {run.settings.temporal_task_queue}? "
                f"See {run.ui_link}"
            )
        else:
            hop.detail = (
                f"the text was not handled within {run.timeout:g} s: is the worker running and "
                f"Zendesk reachable from it? See {run.ui_link}"
            )
        return hop, view
    assert state is not None
    if state["ticket_id"] is None:
        hop.passed = False
        failed = state["failed"][-1]["error"] if state["failed"] else None
        hop.detail = (
            f"the text was handled but no ticket holds it: {failed}"
            if failed
            else f"the text was handled but opened no ticket: is {run.customer} a consented SMS "
            "subscriber (M12), and SMS_SYNC_ENABLED_AT earlier than now (M14)?"
        ) + f" See {run.ui_link}"
        return hop, view
    hop.passed, hop.detail = True, f"#{state['ticket_id']}"
    return hop, view


async def hop_reply(run: Run, ticket_id: int, replies_before: int) -> Hop:
    hop = Hop("agent reply sent")
    body = f"smsdesk integration test reply {uuid.uuid4().hex[:8]}"
    try:
        async with zendesk_session(run.settings, run.http) as client:
            await post_agent_comment(client, ticket_id, body, author_id=run.author_id)
    except ApiError as exc:
        hop.passed, hop.detail = False, f"Zendesk refused the agent comment: {exc}"
        return hop
    view, error = await _poll(run, lambda v: v["state"]["replies_sent"] > replies_before)
    if view is None or view["state"]["replies_sent"] <= replies_before:
        why = await _unsent_note(run, ticket_id)
        hop.passed = False
        hop.detail = (
            f"no SMS within {run.timeout:g} s"
            + (f": the ticket says: {why}" if why else "")
            + f"; check that Zendesk's webhook posts to {run.settings.public_base_url}"
            "/webhooks/zendesk with the signing secret in ZENDESK_WEBHOOK_SECRET, and that the "
            f"worker runs. See {run.ui_link}"
        )
        return hop
    sid = await asyncio.to_thread(_reply_sid, run.settings, run.workflow_id, body)
    hop.passed = True
    hop.detail = f"as SMS {sid}" if sid else "(its sid is not in the message log at DATABASE_URL)"
    return hop


async def _unsent_note(run: Run, ticket_id: int) -> str | None:
    """The internal note smsdesk leaves when it does not text a reply (B8), if any."""
    try:
        async with zendesk_session(run.settings, run.http) as client:
            comments = await client.list_comments(ticket_id)
    except ApiError:
        return None
    notes = [c.body for c in comments if not c.public and "not sent" in c.body]
    return notes[-1].splitlines()[0] if notes else None


def _reply_sid(settings: Settings, workflow_id: str, body: str) -> str | None:
    url = settings.database_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return None  # not this machine's database: do not create an empty one
    engine = database(settings)
    try:
        rows = db.messages_for(engine, conversation_id=workflow_id)
    finally:
        engine.dispose()
    sent = [r for r in rows if r.direction == Direction.OUTBOUND and r.body == body]
    return sent[-1].provider_sid if sent else None


async def run_integration_test(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.sms_numbers:
        print("test-integration: SMS_NUMBERS is empty: the account has no number to text")
        return 2
    sender = args.to_number or settings.sms_numbers[0]
    customer = args.customer or DEMO_CUSTOMER
    print(
        f"smsdesk integration test: {customer} -> {sender} "
        f"(webhooks {settings.public_base_url}, Temporal {settings.temporal_address})"
    )
    hops = [Hop("webhook accepted"), Hop("ticket created"), Hop("agent reply sent")]
    async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
        try:
            temporal = await temporal_client(settings)
        except Exception as exc:  # the SDK raises plain RuntimeErrors for connection failures
            print(f"  [FAIL] Temporal at {settings.temporal_address} unreachable: {exc}")
            return 1
        run = Run(settings, http, temporal, sender, customer, args.timeout, args.author_id)
        earlier = await _ticket_before(run)
        hops[0], sid = await hop_webhook(run, f"smsdesk integration test {uuid.uuid4().hex[:8]}")
        if hops[0].passed and sid:
            hops[1], view = await hop_ticket(run, sid)
            if hops[1].passed and view and view["state"]["ticket_id"] == earlier:
                hops[1].detail += " (the conversation's open ticket: the text was added to it)"
            if hops[1].passed and view:
                state = view["state"]
                hops[2] = await hop_reply(run, state["ticket_id"], state["replies_sent"])
    for hop in hops:
        print(hop.line())
    passed = sum(1 for hop in hops if hop.passed)
    verdict = "PASS" if passed == len(hops) else "FAIL"
    print(f"{verdict}: {passed} of {len(hops)} hops passed")
    return 0 if verdict == "PASS" else 1

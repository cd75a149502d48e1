"""The closing summary of `replay`, counted from the end state rather than from what was sent.

Tickets, comments and texts are counted in the sandboxes (`/_sandbox/tickets`,
`/_sandbox/messages`) when Zendesk and the SMS provider are sandboxes, else in the product
database (ticket links and the message log). Only what belongs to the replayed conversations and
was not there before the replay counts. Before counting, the replay waits for the product to
settle: sandbox webhooks delivered, every replayed conversation idle.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from cli.replay_run import Outcome
from core.conversation import STATE_QUERY, ConversationView
from core.settings import Settings
from core.tables import Direction, SendStatus
from infra import db

SENT = (SendStatus.SENT, SendStatus.DELIVERED, SendStatus.UNDELIVERED)


class Counts(BaseModel):
    """What the replayed conversations hold: ticket ids, comment ids and sent texts."""

    tickets: set[int]
    customer_comments: set[int]
    agent_comments: set[int]
    internal_notes: set[int]
    texts: set[str]


class EndState(BaseModel):
    source: Literal["sandboxes", "product database"]
    tickets_created: int
    #: Comments added: the customer's texts, agents' public answers, internal notes.
    customer_comments: int
    agent_comments: int
    internal_notes: int
    texts_sent: int


class Summary(BaseModel):
    file: str
    events: int
    accepted: int
    errors: list[Outcome]
    seconds: float
    conversations: int
    settled: int
    end_state: EndState


class EndStateReader:
    """Counts what the replayed conversations hold, in the sandboxes or the product database."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.AsyncClient,
        engine: Engine,
        conversation_ids: set[str],
        customers: set[str],
    ) -> None:
        self._settings = settings
        self._http = http
        self._engine = engine
        self._conversations = conversation_ids
        self._customers = customers
        self.sandboxes = False
        self._quiet = False

    async def detect(self) -> None:
        """Use the sandboxes when both Zendesk and the SMS provider are sandboxes."""
        urls = (self._sandbox("zendesk", "/tickets"), self._sandbox("twilio", "/messages"))
        try:
            answers = [await self._http.get(url) for url in urls]
        except httpx.HTTPError:
            return
        self.sandboxes = all(a.status_code == 200 for a in answers)

    def _sandbox(self, service: str, path: str) -> str:
        base = (
            self._settings.zendesk_url if service == "zendesk" else self._settings.twilio_base_url
        )
        return base.rstrip("/") + "/_sandbox" + path

    async def counts(self) -> Counts:
        if self.sandboxes:
            return await self._sandbox_counts()
        return await asyncio.to_thread(self._database_counts)

    async def _sandbox_counts(self) -> Counts:
        tickets = (await self._get(self._sandbox("zendesk", "/tickets")))["tickets"]
        ours = [t for t in tickets if t.get("external_id") in self._conversations]
        counts = Counts(
            tickets={t["id"] for t in ours},
            customer_comments=set(),
            agent_comments=set(),
            internal_notes=set(),
            texts=set(),
        )
        for ticket in ours:
            for comment in ticket["comments"]:
                if not comment["public"]:
                    counts.internal_notes.add(comment["id"])
                elif comment["author_id"] == ticket["requester_id"]:
                    counts.customer_comments.add(comment["id"])
                else:
                    counts.agent_comments.add(comment["id"])
        messages = (await self._get(self._sandbox("twilio", "/messages")))["messages"]
        counts.texts = {
            m["sid"]
            for m in messages
            if m["direction"].startswith("outbound") and m["to"] in self._customers
        }
        return counts

    def _database_counts(self) -> Counts:
        # Without sandboxes the product's own records stand in: customer texts written to a
        # ticket, agent replies it texted (agent comments it did not text are not recorded).
        counts = Counts(
            tickets=set(),
            customer_comments=set(),
            agent_comments=set(),
            internal_notes=set(),
            texts=set(),
        )
        for conversation in self._conversations:
            counts.tickets |= _ticket_ids(self._engine, conversation)
            for row in db.messages_for(self._engine, conversation_id=conversation):
                if row.id is None:
                    continue
                if row.direction is Direction.INBOUND and row.ticket_id is not None:
                    counts.customer_comments.add(row.id)
                elif row.direction is Direction.OUTBOUND and row.status in SENT:
                    counts.texts.add(str(row.id))
                    if row.kind == "agent_reply":
                        counts.agent_comments.add(row.id)
        return counts

    async def _get(self, url: str) -> Any:
        response = await self._http.get(url)
        response.raise_for_status()
        return response.json()

    def end_state(self, before: Counts, after: Counts) -> EndState:
        return EndState(
            source="sandboxes" if self.sandboxes else "product database",
            tickets_created=len(after.tickets - before.tickets),
            customer_comments=len(after.customer_comments - before.customer_comments),
            agent_comments=len(after.agent_comments - before.agent_comments),
            internal_notes=len(after.internal_notes - before.internal_notes),
            texts_sent=len(after.texts - before.texts),
        )

    async def settle(self, temporal: Client, timeout: float) -> int:
        """Wait until webhooks are delivered and every conversation is idle; returns how many
        conversations are idle (all of them, unless `timeout` ran out)."""
        deadline = asyncio.get_running_loop().time() + timeout
        idle: set[str] = set()
        while True:
            if self.sandboxes:
                for service in ("zendesk", "twilio"):
                    await self._http.post(self._sandbox(service, "/flush"), timeout=timeout)
            busy = False
            for conversation in self._conversations:
                if not await _idle(temporal, conversation):
                    busy = True
                    idle.discard(conversation)
                else:
                    idle.add(conversation)
            # Idle twice in a row with nothing in flight: a reply's status callback or a
            # Zendesk event could otherwise still be on its way after the first look.
            if not busy and self._quiet:
                return len(idle)
            self._quiet = not busy
            if asyncio.get_running_loop().time() > deadline:
                return len(idle)
            await asyncio.sleep(0.2)


def _ticket_ids(engine: Engine, conversation: str) -> set[int]:
    rows = db.messages_for(engine, conversation_id=conversation)
    linked = {row.ticket_id for row in rows if row.ticket_id is not None}
    latest = db.latest_ticket(engine, conversation_id=conversation)
    return linked | ({latest.ticket_id} if latest else set())


async def _idle(temporal: Client, conversation: str) -> bool:
    try:
        view: ConversationView = await temporal.get_workflow_handle(conversation).query(
            STATE_QUERY, result_type=ConversationView
        )
    except RPCError as exc:
        # A conversation that never started (every event of it was refused) has nothing to do.
        return exc.status is RPCStatusCode.NOT_FOUND
    except Exception:  # noqa: BLE001 - a conversation that cannot answer is not idle yet
        return False
    return view.queued == 0 and not view.busy


def describe(summary: Summary) -> str:
    """The closing summary for the terminal."""
    rate = summary.events / summary.seconds if summary.seconds else 0.0
    end = summary.end_state
    lines = [
        f"Replayed {summary.file}: {summary.events} events in {summary.seconds:.1f}s "
        f"({rate:.1f}/s) over {summary.conversations} conversations",
        f"  accepted {summary.accepted}, errors {len(summary.errors)}",
    ]
    lines += [f"    line {o.line} {o.type}: {o.error}" for o in summary.errors[:20]]
    if len(summary.errors) > 20:
        lines.append(f"    ... and {len(summary.errors) - 20} more")
    lines += [
        f"  end state ({end.source}), settled {summary.settled}/{summary.conversations}:",
        f"    tickets created   {end.tickets_created}",
        f"    comments          {end.customer_comments + end.agent_comments} "
        f"({end.customer_comments} customer, {end.agent_comments} agent) "
        f"+ {end.internal_notes} internal notes",
        f"    texts sent        {end.texts_sent}",
    ]
    return "\n".join(lines)

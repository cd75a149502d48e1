"""How `replay` delivers each kind of event, and when it counts one as accepted.

- Texts (inbound, outbound) go to the product's webhooks, signed as the SMS provider and the
  brand's tools sign them; accepted = a 2xx, which the receivers give only once Temporal holds
  the signal.
- Agent events first wait for the conversation's ticket: every text replayed before them in the
  conversation must be triaged by the product, and written to a ticket if it was ticketable
  (read from the message log). The ticket is then the conversation's latest (`TicketLink`).
- By default they act through the Zendesk API, as an agent's browser does (`PUT` with the
  comment and/or status), and Zendesk sends the signed event to the product. Accepted = Zendesk
  took the update *and* the conversation has seen the resulting event (its `state` query shows
  the comment's id or the new status), so the next event of the conversation cannot overtake it.
- With `direct`, they are posted as signed Zendesk events to `/webhooks/zendesk` instead
  (Zendesk is not written to); accepted = a 2xx. Ids are derived from the line, so replaying
  the same file again is recognised as a redelivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from cli.replay_events import AgentComment, AgentEvent, InboundText, OutboundText, Recorded
from cli.replay_run import Outcome
from clients.errors import ApiError, HttpStatusError, RateLimited, parse_retry_after
from clients.zendesk import ZendeskClient
from core.conversation import STATE_QUERY, ConversationView, conversation_id
from core.settings import Settings
from core.tables import MessageLog
from infra import db
from service.zendesk import zendesk_client
from webhooks.signatures import smsdesk_signature, twilio_signature, zendesk_signature
from webhooks.zendesk_events import COMMENT_ADDED, STATUS_CHANGED

#: Answers worth another try: Temporal briefly unavailable (503), rate limits (429).
RETRYABLE = {429, 502, 503, 504}
ATTEMPTS = 5
POLL_SECONDS = 0.1


class Refused(Exception):
    """An event that cannot be delivered; the message is the reason shown in the summary."""


class HttpSender:
    """Sends events to the product's webhooks and the Zendesk API (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.AsyncClient,
        engine: Engine,
        temporal: Client,
        direct: bool,
        wait_seconds: float,
        agent_id: int | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._engine = engine
        self._temporal = temporal
        self._direct = direct
        self._wait = wait_seconds
        self._agent_id = agent_id
        self._base = settings.public_base_url.rstrip("/")
        self._zendesk_client: ZendeskClient | None = None
        #: Inbound texts sent since the conversation's last agent event, by conversation.
        self._texts: dict[tuple[str, str], list[str]] = defaultdict(list)

    async def send(self, recorded: Recorded) -> Outcome:
        event = recorded.event
        try:
            if isinstance(event, InboundText):
                await self._inbound(event)
                self._texts[event.conversation].append(event.message_sid)
            elif isinstance(event, OutboundText):
                await self._outbound(event)
            else:
                await self._agent(recorded, event)
        except (Refused, httpx.HTTPError) as exc:
            reason = str(exc) or type(exc).__name__
            return Outcome(line=recorded.line, type=event.type, accepted=False, error=reason)
        return Outcome(line=recorded.line, type=event.type, accepted=True)

    # --- texts --------------------------------------------------------------------------------

    async def _inbound(self, text: InboundText) -> None:
        url = self._base + "/webhooks/sms/inbound"
        form = {
            "MessageSid": text.message_sid,
            "AccountSid": self._settings.twilio_account_sid or "",
            "From": text.from_,
            "To": text.to,
            "Body": text.body,
            "NumMedia": str(len(text.media_urls)),
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        form |= {f"MediaUrl{i}": media for i, media in enumerate(text.media_urls)}
        token = self._settings.twilio_auth_token
        signature = twilio_signature(token.get_secret_value() if token else "", url, form)
        await self._post(url, data=form, headers={"X-Twilio-Signature": signature})

    async def _outbound(self, text: OutboundText) -> None:
        secret = self._settings.outbound_webhook_secret
        if secret is None:
            raise Refused("OUTBOUND_WEBHOOK_SECRET is not set: outbound texts cannot be signed")
        body = json.dumps(
            {
                "message_id": text.message_id,
                "kind": text.kind,
                "campaign_or_flow_id": text.campaign_or_flow_id,
                "name": text.name,
                "from": text.from_,
                "to": text.to,
                "body": text.body,
                "sent_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Smsdesk-Signature": smsdesk_signature(secret.get_secret_value(), body),
        }
        await self._post(self._base + "/webhooks/outbound", content=body, headers=headers)

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST, retrying what a provider would retry; a final refusal raises `Refused`."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._http.post(url, **kwargs)
            except httpx.TransportError:
                # Such as a kept-alive connection the server closed as it was reused: the
                # webhooks are idempotent, so sending again is safe.
                if attempt == ATTEMPTS:
                    raise
                await asyncio.sleep(_backoff(attempt))
                continue
            if response.is_success:
                return response
            if response.status_code not in RETRYABLE or attempt == ATTEMPTS:
                raise Refused(f"{url.rsplit('/webhooks', 1)[-1]} answered {_said(response)}")
            await asyncio.sleep(_retry_after(response, attempt))
        raise AssertionError("unreachable")

    # --- agent events -------------------------------------------------------------------------

    async def _agent(self, recorded: Recorded, event: AgentEvent) -> None:
        sender, customer = event.conversation
        conversation = conversation_id(sender, customer, self._settings)
        ticket_id = await self._current_ticket(event.conversation, conversation)
        self._texts[event.conversation].clear()
        if self._direct:
            await self._post_zendesk_events(recorded, event, ticket_id)
            return
        comment_id = await self._update_ticket(event, ticket_id)
        if isinstance(event, AgentComment) and not event.public:
            comment_id = None  # internal notes never reach the conversation: nothing to wait for
        await self._until_seen(conversation, ticket_id, comment_id, event.status)

    async def _current_ticket(self, key: tuple[str, str], conversation: str) -> int:
        """Wait until the product has triaged every text replayed since the last agent event,
        and ticketed those it should; then the conversation's latest ticket."""
        sids = set(self._texts[key])

        async def ready() -> bool:
            rows = await asyncio.to_thread(
                db.messages_for, self._engine, conversation_id=conversation
            )
            done = {row.provider_sid for row in rows if _settled(row)}
            return sids <= done

        if not await self._poll(ready):
            raise Refused(
                f"the product did not finish {len(sids)} earlier text(s) of the conversation "
                f"within {self._wait:g}s"
            )
        link = await asyncio.to_thread(db.latest_ticket, self._engine, conversation_id=conversation)
        if link is None:
            raise Refused("the conversation has no ticket to act on")
        return link.ticket_id

    async def _update_ticket(self, event: AgentEvent, ticket_id: int) -> int | None:
        """`PUT /api/v2/tickets/{id}` as the agent, through the product's Zendesk client and
        credentials; returns the new comment's id, if any."""
        ticket: dict[str, Any] = {}
        author_id = self._agent_id or event.author_id
        if isinstance(event, AgentComment):
            ticket["comment"] = {"body": event.body, "public": event.public}
            if author_id is not None:
                ticket["comment"]["author_id"] = author_id
        if event.status is not None:
            ticket["status"] = event.status.value
        for attempt in range(1, ATTEMPTS + 1):
            try:
                updated = await self._zendesk().update_ticket_audited(ticket_id, ticket)
            except HttpStatusError as exc:
                if exc.status_code not in RETRYABLE or attempt == ATTEMPTS:
                    raise Refused(
                        f"Zendesk refused the update of ticket {ticket_id}: {exc}"
                    ) from exc
                asked = exc.retry_after if isinstance(exc, RateLimited) else None
                await asyncio.sleep(_backoff(attempt) if asked is None else min(asked, 30.0))
                continue
            except ApiError as exc:
                raise Refused(f"Zendesk could not update ticket {ticket_id}: {exc}") from exc
            return updated.comment_id
        raise AssertionError("unreachable")

    async def _until_seen(
        self, conversation: str, ticket_id: int, comment_id: int | None, status: Any
    ) -> None:
        """Wait until the conversation got Zendesk's event(s) for the update just made."""
        handle = self._temporal.get_workflow_handle(conversation)

        async def seen() -> bool:
            view: ConversationView = await handle.query(STATE_QUERY, result_type=ConversationView)
            state = view.state
            if comment_id is not None and f"comment:{comment_id}" not in state.seen_ids:
                return False
            if status is None:
                return True
            if status == "closed":
                return state.ticket_id != ticket_id and state.last_closed_ticket_id == ticket_id
            return state.ticket_id == ticket_id and state.ticket_status == status

        if not await self._poll(seen):
            raise Refused(
                f"Zendesk took the update of ticket {ticket_id}, but its event did not reach "
                f"the conversation within {self._wait:g}s"
            )

    async def _post_zendesk_events(
        self, recorded: Recorded, event: AgentEvent, ticket_id: int
    ) -> None:
        secret = self._settings.zendesk_webhook_secret
        if secret is None:
            raise Refused("ZENDESK_WEBHOOK_SECRET is not set: events cannot be signed")
        for payload in _zendesk_events(recorded, event, ticket_id, self._agent_id):
            body = json.dumps(payload).encode()
            timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            headers = {
                "Content-Type": "application/json",
                "X-Zendesk-Webhook-Signature": zendesk_signature(
                    secret.get_secret_value(), timestamp, body
                ),
                "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            }
            await self._post(self._base + "/webhooks/zendesk", content=body, headers=headers)

    def _zendesk(self) -> ZendeskClient:
        """The product's Zendesk client, made on first use: `--direct-zendesk-events` needs
        no credentials. One for all events, so an OAuth client fetches one token."""
        if self._zendesk_client is None:
            try:
                self._zendesk_client = zendesk_client(self._settings, self._http, self._engine)
            except ValueError as exc:
                raise Refused(str(exc)) from exc
        return self._zendesk_client

    async def _poll(self, probe: Any) -> bool:
        """Ask `probe` until it says yes or the wait runs out; errors count as not yet (a
        query can fail while a conversation moves to its next run)."""
        deadline = asyncio.get_running_loop().time() + self._wait
        while True:
            try:
                if await probe():
                    return True
            except Exception:  # noqa: BLE001 - any failure here just means "not yet"
                pass
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)


def _settled(row: MessageLog) -> bool:
    # A ticketable text is done once it is on a ticket; any other fate is final at triage.
    return row.disposition != "ticket" or row.ticket_id is not None


def _said(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:200]}".strip()


def _retry_after(response: httpx.Response, attempt: int) -> float:
    asked = parse_retry_after(response.headers.get("Retry-After"))
    return _backoff(attempt) if asked is None else min(asked, 30.0)


def _backoff(attempt: int) -> float:
    return 0.2 * 2.0**attempt


def stable_id(raw: str, salt: str) -> int:
    """A positive 48-bit id derived from a line, the same on every replay of the file."""
    return int(hashlib.sha256(f"{salt}:{raw}".encode()).hexdigest()[:12], 16)


def _zendesk_events(
    recorded: Recorded, event: AgentEvent, ticket_id: int, agent_id: int | None
) -> list[dict[str, Any]]:
    """The event-subscription payloads Zendesk would send for this agent action."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    author = agent_id or event.author_id or 1

    def envelope(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}:{recorded.raw}")
        return {
            "type": kind,
            "id": str(event_id),
            "time": now,
            "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": str(ticket_id), "actor_id": str(author)},
            "event": body,
        }

    payloads = []
    if isinstance(event, AgentComment):
        comment = {
            "id": str(stable_id(recorded.raw, "comment")),
            "body": event.body,
            "is_public": event.public,
            "author": {"id": str(author), "is_staff": True},
        }
        payloads.append(envelope(COMMENT_ADDED, {"comment": comment}))
    if event.status is not None:
        payloads.append(envelope(STATUS_CHANGED, {"current": event.status.value.upper()}))
    return payloads

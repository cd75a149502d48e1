"""The whole product on loopback for end-to-end tests: sandbox services, the webhook server and
the production worker factory, against the session's real Temporal dev server.

Each test gets fresh task queues, fresh sandboxes and a fresh database; conversations are told
apart by fresh customer numbers, since the Temporal server is shared.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from core.conversation import STATE_QUERY, conversation_id
from core.reconcile import WORKFLOW_NAME as RECONCILE_WORKFLOW
from core.reconcile import ReconcileInput, ReconcileReport
from core.settings import Settings
from devstack.processes import reserve_port
from devstack.sandboxes import ACCOUNT_NUMBERS, AGENT_ID, ZENDESK_TOKEN, Sandboxes, SandboxPorts
from devstack.stack import InProcessStack, in_process_stack
from intake import journal
from webhooks.signatures import smsdesk_signature, twilio_signature

T = TypeVar("T")
ACCOUNT_NUMBER = ACCOUNT_NUMBERS[0]
_customer_numbers = itertools.count(random.randrange(1_000_000, 8_000_000))


@dataclass
class Stack:
    """The in-process stack (`devstack.stack`) with what a test does to it and reads from it."""

    parts: InProcessStack
    #: The test's own client, acting as the outside world (the workers have theirs).
    http: httpx.AsyncClient

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @settings.setter
    def settings(self, changed: Settings) -> None:
        """Settings changed by a test; the workers it starts next run with them."""
        self.parts.settings = changed

    @property
    def engine(self) -> Engine:
        return self.parts.engine

    @property
    def client(self) -> Client:
        return self.parts.client

    @property
    def sandboxes(self) -> Sandboxes:
        return self.parts.sandboxes

    # --- lifecycle --------------------------------------------------------------------------

    async def start_worker(self) -> None:
        await self.parts.start_workers()

    async def stop_worker(self) -> None:
        """Shut the workers down as a crash would leave things (no shutdown grace): in-flight
        work is abandoned and picked up again by the next worker, from Temporal's history."""
        await self.parts.stop_workers()

    # --- acting as the outside world --------------------------------------------------------

    async def new_customer(
        self, *, consent: str = "SUBSCRIBED", email: str | None = None, known: bool = True
    ) -> str:
        """A fresh phone number; with `known`, a Klaviyo profile with that SMS consent."""
        phone = f"+1555{next(_customer_numbers):07d}"
        if known:
            profile: dict[str, Any] = {"phone_number": phone, "sms_marketing": consent}
            if email:
                profile["email"] = email
            response = await self.http.post(self.url("klaviyo", "/_sandbox/profiles"), json=profile)
            response.raise_for_status()
        return phone

    async def text(
        self,
        customer: str,
        body: str,
        *,
        to: str = ACCOUNT_NUMBER,
        sid: str | None = None,
        media: tuple[str, ...] = (),
        signature: str | None = None,
    ) -> httpx.Response:
        """Post a signed inbound-text webhook, exactly as the SMS provider does."""
        url = self.settings.public_base_url + "/webhooks/sms/inbound"
        form = {
            "MessageSid": sid if sid is not None else "SM" + uuid.uuid4().hex,
            "AccountSid": self.settings.twilio_account_sid or "",
            "From": customer,
            "To": to,
            "Body": body,
            "NumMedia": str(len(media)),
        }
        form |= {f"MediaUrl{i}": media_url for i, media_url in enumerate(media)}
        token = self.settings.twilio_auth_token
        assert token is not None
        sig = (
            signature
            if signature is not None
            else twilio_signature(token.get_secret_value(), url, form)
        )
        return await self.http.post(url, data=form, headers={"X-Twilio-Signature": sig})

    async def mms(self, customer: str, body: str, media: list[tuple[str, bytes]]) -> str:
        """The customer sends pictures through the SMS provider sandbox, which keeps them
        behind the account's credentials and posts the signed webhook; returns the sid."""
        items = [
            {"content_type": kind, "content_base64": base64.b64encode(content).decode()}
            for kind, content in media
        ]
        response = await self.http.post(
            self.url("twilio", "/_sandbox/inbound"),
            json={"from": customer, "to": ACCOUNT_NUMBER, "body": body, "media": items},
        )
        response.raise_for_status()
        sid: str = response.json()["sid"]
        return sid

    async def requests_to(self, service: str) -> dict[str, int]:
        """How many requests each route of a sandbox has answered (`"POST /api/v2/uploads"`)."""
        response = await self.http.get(self.url(service, "/_sandbox/stats"))
        counts: dict[str, int] = response.json()["requests"]
        return counts

    async def delivery_report(self, message: dict[str, Any], status: str) -> httpx.Response:
        """Post the signed status callback the SMS provider sends for one of the texts in
        `texts_to` (to its own callback address, as the sandbox does when webhooks are on)."""
        url = message["status_callback"]
        form = {
            "AccountSid": self.settings.twilio_account_sid or "",
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "From": message["from"],
            "To": message["to"],
        }
        token = self.settings.twilio_auth_token
        assert token is not None and url
        sig = twilio_signature(token.get_secret_value(), url, form)
        return await self.http.post(url, data=form, headers={"X-Twilio-Signature": sig})

    async def outbound(
        self,
        customer: str,
        body: str,
        *,
        sent_at: datetime,
        kind: str = "campaign",
        campaign_or_flow_id: str | None = "c-spring",
        name: str | None = "Spring sale",
        message_id: str | None = None,
        sender: str = ACCOUNT_NUMBER,
    ) -> httpx.Response:
        """Post a signed `/webhooks/outbound` notice of a text the brand sent elsewhere."""
        payload = {
            "message_id": message_id or "SM" + uuid.uuid4().hex,
            "kind": kind,
            "campaign_or_flow_id": campaign_or_flow_id,
            "name": name,
            "from": sender,
            "to": customer,
            "body": body,
            "sent_at": sent_at.isoformat(),
        }
        raw = json.dumps(payload).encode()
        secret = self.settings.outbound_webhook_secret
        assert secret is not None
        headers = {
            "X-Smsdesk-Signature": smsdesk_signature(secret.get_secret_value(), raw),
            "Content-Type": "application/json",
        }
        return await self.http.post(
            self.settings.public_base_url + "/webhooks/outbound", content=raw, headers=headers
        )

    async def agent_reply(
        self,
        ticket_id: int,
        body: str,
        *,
        public: bool = True,
        author_id: int = AGENT_ID,
        status: str | None = None,
        files: list[tuple[str, str, bytes]] = [],  # noqa: B006 (never mutated)
    ) -> httpx.Response:
        """An agent comments in Zendesk, attaching `files` (name, type, bytes) as the agent
        UI does: each uploaded first, the tokens on the comment."""
        comment: dict[str, Any] = {"body": body, "public": public, "author_id": author_id}
        tokens = []
        for name, kind, content in files:
            uploaded = await self.zendesk(
                "POST",
                "/api/v2/uploads",
                params={"filename": name},
                content=content,
                headers={"Content-Type": kind},
            )
            uploaded.raise_for_status()
            tokens.append(uploaded.json()["upload"]["token"])
        if tokens:
            comment["uploads"] = tokens
        ticket: dict[str, Any] = {"comment": comment}
        if status:
            ticket["status"] = status
        return await self.zendesk("PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": ticket})

    async def set_status(self, ticket_id: int, status: str) -> None:
        response = await self.zendesk(
            "PUT", f"/api/v2/tickets/{ticket_id}", json={"ticket": {"status": status}}
        )
        response.raise_for_status()

    async def zendesk(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ZENDESK_TOKEN}", **kwargs.pop("headers", {})}
        return await self.http.request(method, self.url("zendesk", path), headers=headers, **kwargs)

    async def configure(self, service: str, **config: Any) -> None:
        """Change a sandbox's run-time switches (`POST /_sandbox/config`)."""
        response = await self.http.post(self.url(service, "/_sandbox/config"), json=config)
        response.raise_for_status()

    async def reconcile(self, since: datetime | None = None) -> ReconcileReport:
        """Run the reconciler once, as `starter.py reconcile` does, on this stack's queues."""
        report: ReconcileReport = await self.client.execute_workflow(
            RECONCILE_WORKFLOW,
            ReconcileInput(since=since, zendesk_task_queue=self.settings.zendesk_task_queue),
            id=f"reconcile-{uuid.uuid4().hex[:8]}",
            task_queue=self.settings.temporal_task_queue,
            result_type=ReconcileReport,
        )
        return report

    async def arm_fault(self, service: str, **spec: Any) -> None:
        response = await self.http.post(self.url(service, "/_sandbox/faults"), json=spec)
        response.raise_for_status()

    # --- observing --------------------------------------------------------------------------

    async def tickets(self) -> list[dict[str, Any]]:
        response = await self.http.get(self.url("zendesk", "/_sandbox/tickets"))
        response.raise_for_status()
        tickets: list[dict[str, Any]] = response.json()["tickets"]
        return tickets

    async def tickets_of(self, customer: str, sender: str = ACCOUNT_NUMBER) -> list[dict[str, Any]]:
        """The customer's SMS tickets, oldest first (their external_id is the conversation)."""
        conversation = conversation_id(sender, customer, self.settings)
        return [t for t in await self.tickets() if t.get("external_id") == conversation]

    async def texts_to(self, customer: str) -> list[dict[str, Any]]:
        response = await self.http.get(self.url("twilio", "/_sandbox/messages"))
        response.raise_for_status()
        return [m for m in response.json()["messages"] if m["to"] == customer]

    async def klaviyo_events(self) -> list[dict[str, Any]]:
        response = await self.http.get(self.url("klaviyo", "/_sandbox/events"))
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def spec_violations(self) -> dict[str, list[dict[str, Any]]]:
        """Request bodies the sandboxes found off the vendors' schemas, by service."""
        found = {}
        for service in ("zendesk", "twilio", "klaviyo"):
            response = await self.http.get(self.url(service, "/_sandbox/spec_violations"))
            if violations := response.json()["spec_violations"]:
                found[service] = violations
        return found

    def conversation(self, customer: str, sender: str = ACCOUNT_NUMBER) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(conversation_id(sender, customer, self.settings))

    async def settled(
        self, customer: str, sender: str = ACCOUNT_NUMBER, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Wait until the sandboxes delivered their webhooks and the conversation has handled
        every event it received; returns its state."""
        for service in ("zendesk", "twilio"):
            await self.http.post(self.url(service, "/_sandbox/flush"))
        await self.intake_drained(timeout)

        async def idle() -> dict[str, Any] | None:
            view: dict[str, Any] = await self.conversation(customer, sender).query(STATE_QUERY)
            return view if view["queued"] == 0 and not view["busy"] else None

        return await eventually(idle, timeout=timeout)

    async def intake_drained(self, timeout: float = 20.0) -> None:
        """Wait until the webhooks' intake journal has handed every event to Temporal."""

        async def empty() -> bool:
            return (await asyncio.to_thread(journal.backlog, self.engine)).events == 0

        await eventually(empty, timeout=timeout)

    def url(self, service: str, path: str) -> str:
        base = {
            "zendesk": self.settings.zendesk_url,
            "twilio": self.settings.twilio_base_url,
            "klaviyo": self.settings.klaviyo_base_url,
        }[service]
        return base.rstrip("/") + path


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy; fail with its last answer or error."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    error: Exception | None = None
    while True:
        try:
            last, error = await probe(), None
            if last:
                return last
        except Exception as exc:  # e.g. a query while the workflow moves to a new run
            error = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s (last: {last!r}, error: {error!r})"
            )
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_stack(
    client: Client,
    engine: Engine,
    *,
    serve_webhooks: bool = True,
    start_worker: bool = True,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Sandboxes and webhooks on free loopback ports, and a worker on fresh task queues.

    Without `serve_webhooks` the webhook port stays free for a drill's own webhook process
    (`uvicorn webapp:app`, which it can kill and restart); without `start_worker` the drill's
    own `python worker.py` polls the queues."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None,
        temporal_address=client.service_client.config.target_host,
        temporal_task_queue=queue,
        zendesk_task_queue=f"{queue}-zendesk",
        **{
            "zendesk_requests_per_minute": 60_000,
            "zendesk_update_requests_per_minute": 60_000,
            **overrides,
        },
    )
    async with (
        in_process_stack(
            settings,
            ports=SandboxPorts(
                zendesk=reserve_port(), twilio=reserve_port(), klaviyo=reserve_port()
            ),
            webhook_port=reserve_port(),
            client=client,
            engine=engine,
            serve_webhooks=serve_webhooks,
            start_workers=start_worker,
            # No shutdown grace: stopping abandons in-flight activities, as a crash would.
            shutdown_grace=timedelta(0),
        ) as parts,
        httpx.AsyncClient(timeout=10) as http,
    ):
        stack = Stack(parts, http)
        # The product's budgets are lifted above (tests replay minutes of traffic in seconds),
        # so Zendesk's own Update Ticket limit (100 a minute) is lifted with them: a test of
        # the budgets sets both (tests/e2e/test_update_budget.py, tests/clients/).
        await stack.configure("zendesk", update_ticket_requests_per_minute=None)
        yield stack
        await stack.stop_worker()
        # Everything the product sent had to match the official OpenAPI files.
        violations = await stack.spec_violations()
        assert violations == {}, violations

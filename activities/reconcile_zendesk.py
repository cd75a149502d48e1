"""The reconciler's Zendesk side (B1): what a dropped Zendesk webhook never delivered.

Reads the incremental ticket event export from its cursor and, through the same door and
dedupe ids as the webhook, hands over:
- public agent comments on SMS tickets that were never texted (the send journal has no
  `reply:<comment id>` row), to their conversation;
- status changes the conversation missed: only when its state disagrees with the export, and
  then with the ticket's real status read from Zendesk, so a stale change never overwrites a
  newer one;
- ticket creations and closings as Opened / Resolved Ticket workflows (a duplicate start is a
  no-op, so only the missing ones count as repaired).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from activities import reconcile_cursors as cursors
from activities.errors import retry_decisions
from clients.errors import Unauthorized
from clients.zendesk import ZendeskClient
from clients.zendesk_events import EXPORT_LAG_SECONDS, ChildEvent, TicketEvent
from core.conversation import STATE_QUERY
from core.messages import AgentComment, ConversationEvent, TicketStatus, TicketStatusChanged
from core.reconcile import SideInput, ZendeskRepairs
from core.settings import Settings
from core.tables import TicketLink
from core.ticket_metrics import Metric, TicketMetricsInput
from infra import db
from intake.door import Door
from intake.handoff import Handoff

log = logging.getLogger(__name__)
STAFF_ROLES = frozenset({"agent", "admin"})
ADMIN_ONLY = (
    "Zendesk refused its incremental ticket export, which admins alone may read: give smsdesk "
    "an admin's credentials"
)


class ZendeskSide:
    def __init__(self, zendesk: ZendeskClient, engine: Engine, door: Door) -> None:
        self._zendesk = zendesk
        self._engine = engine
        self._door = door
        self._staff: dict[int, tuple[bool, str | None]] = {}  # author id → (is staff, name)

    @property
    def _settings(self) -> Settings:
        return self._door.settings

    async def reconcile(self, request: SideInput) -> ZendeskRepairs:
        settings = self._settings
        if not (settings.metrics_sync_enabled or settings.sms_sync_enabled):
            return ZendeskRepairs(skipped="ticket and SMS sync are both off")
        saved = await asyncio.to_thread(cursors.read, self._engine, cursors.ZENDESK_TICKET_EVENTS)
        start = request.since or saved or request.run_started_at - settings.reconcile_interval
        newest_allowed = int(time.time()) - EXPORT_LAG_SECONDS - 1
        start_time = min(int(start.timestamp()), newest_allowed)
        try:
            events = await self._read(start_time)
        except ApplicationError as exc:
            if exc.type != Unauthorized.__name__:
                raise
            # Not an outage: the export is for admins only, and waiting will not change that.
            log.error("reconcile cannot read Zendesk's ticket events: %s", exc)
            return ZendeskRepairs(skipped=f"{ADMIN_ONLY} ({exc})")
        repairs = ZendeskRepairs(
            read_from=datetime.fromtimestamp(start_time, UTC), events_read=len(events)
        )
        if settings.metrics_sync_enabled:
            await self._metrics(events, repairs)
        if settings.sms_sync_enabled:
            links = await asyncio.to_thread(
                db.ticket_links, self._engine, ticket_ids=sorted({e.ticket_id for e in events})
            )
            await self._comments(events, links, repairs)
            await self._statuses(events, links, repairs)
        # Everything up to the lag's edge has been seen, events or not; a quiet hour must not
        # leave the cursor behind (the next run would start an interval ago, past a gap).
        newest_seen = max([newest_allowed, *(e.timestamp for e in events)])
        repairs.read_until = datetime.fromtimestamp(newest_seen, UTC)
        await asyncio.to_thread(
            cursors.advance, self._engine, cursors.ZENDESK_TICKET_EVENTS, repairs.read_until
        )
        return repairs

    async def _read(self, start_time: int) -> list[TicketEvent]:
        """Every event since `start_time`, each once (pages repeat items at their edges).

        Raises:
            ApplicationError: of type `Unauthorized` when the credentials are not an admin's.
        """
        events: dict[int, TicketEvent] = {}
        while True:
            with retry_decisions():
                page = await self._zendesk.ticket_events(start_time=start_time)
            for event in page.ticket_events:
                events.setdefault(event.id, event)
            activity.heartbeat(start_time)
            if page.end_of_stream or page.end_time is None or page.end_time <= start_time:
                return sorted(events.values(), key=lambda e: (e.timestamp, e.id))
            start_time = page.end_time

    async def _metrics(self, events: list[TicketEvent], repairs: ZendeskRepairs) -> None:
        for event in events:
            if event.created_ticket:
                if await self._start_metric(event, Metric.OPENED):
                    repairs.opened.append(event.ticket_id)
            if any(_status(child)[0] is TicketStatus.CLOSED for child in event.child_events):
                if await self._start_metric(event, Metric.RESOLVED):
                    repairs.resolved.append(event.ticket_id)

    async def _start_metric(self, event: TicketEvent, metric: Metric) -> bool:
        request = TicketMetricsInput.for_event(
            ticket_id=event.ticket_id,
            metric=metric,
            occurred_at=event.at,
            event_id=f"zendesk-ticket-event-{event.id}",
            settings=self._settings,
        )
        return await self._door.hand_over(Handoff.ticket_metrics(request)) != "duplicate"

    async def _comments(
        self, events: list[TicketEvent], links: dict[int, TicketLink], repairs: ZendeskRepairs
    ) -> None:
        public = [
            (event, child)
            for event in events
            if event.ticket_id in links
            for child in event.child_events
            if child.event_type == "Comment" and child.public and child.id is not None
        ]
        await self._learn_authors({c.author_id for _, c in public if c.author_id is not None})
        for event, child in public:
            assert child.id is not None and child.author_id is not None
            is_staff, name = self._staff.get(child.author_id, (False, None))
            comment = AgentComment(
                event_id=f"zendesk-ticket-event-{event.id}",
                ticket_id=event.ticket_id,
                comment_id=child.id,
                body=child.body or "",
                is_public=True,
                author_id=child.author_id,
                author_is_staff=is_staff,
                author_name=name,
                created_at=event.at,
            )
            if comment.why_not_texted is not None:
                continue
            sent = await asyncio.to_thread(
                db.find_by_key, self._engine, idempotency_key=f"reply:{child.id}"
            )
            if sent is not None:
                continue  # texted already (or held back on purpose, with a note)
            await self._to_conversation(links[event.ticket_id], comment)
            repairs.agent_comments.append(child.id)

    async def _learn_authors(self, author_ids: set[int]) -> None:
        unknown = sorted(author_ids - self._staff.keys())
        for first in range(0, len(unknown), 100):
            with retry_decisions():
                users = await self._zendesk.show_users(unknown[first : first + 100])
            for user in users:
                self._staff[user.id] = (user.role in STAFF_ROLES, user.name)

    async def _statuses(
        self, events: list[TicketEvent], links: dict[int, TicketLink], repairs: ZendeskRepairs
    ) -> None:
        latest: dict[int, TicketStatus] = {}
        for event in events:  # oldest first: the last change of each ticket wins
            for child in event.child_events:
                status, _ = _status(child)
                if status is not None and event.ticket_id in links:
                    latest[event.ticket_id] = status
        for ticket_id, exported in latest.items():
            link = links[ticket_id]
            known = await self._known_status(link, ticket_id)
            if known is None or known == exported:
                continue
            # The conversation disagrees with the export: a change was missed, or a newer one
            # happened since. Zendesk's answer now settles which.
            with retry_decisions():
                real = TicketStatus((await self._zendesk.get_ticket(ticket_id)).status)
            if real == known:
                continue
            change = TicketStatusChanged(
                event_id=f"reconcile-{ticket_id}-{real}-{int(time.time())}",
                ticket_id=ticket_id,
                status=real,
                previous=known,
                changed_at=datetime.now(UTC),
            )
            await self._to_conversation(link, change)
            repairs.status_changes.append(ticket_id)

    async def _to_conversation(self, link: TicketLink, event: ConversationEvent) -> None:
        """Through the same door, with the same dedupe ids, as the webhook would have."""
        await self._door.hand_over(
            Handoff.conversation_event(
                event,
                sender_number=link.sender_number,
                customer_phone=link.customer_phone,
                settings=self._settings,
            )
        )

    async def _known_status(self, link: TicketLink, ticket_id: int) -> TicketStatus | None:
        """The status the conversation holds for this ticket; None when it tracks no such
        ticket (it moved on to a follow-up, or rests: its ticket closed for good)."""
        handle = self._door.temporal.get_workflow_handle(link.conversation_id)
        description = await handle.describe()
        if description.status is not WorkflowExecutionStatus.RUNNING:
            return None
        view: dict[str, Any] = await handle.query(STATE_QUERY, result_type=dict)
        state = view["state"]
        if state.get("ticket_id") != ticket_id or state.get("ticket_status") is None:
            return None
        return TicketStatus(state["ticket_status"])


def _status(child: ChildEvent) -> tuple[TicketStatus | None, TicketStatus | None]:
    new, previous = child.status_value()
    statuses = {s.value for s in TicketStatus}
    return (
        TicketStatus(new) if new in statuses else None,
        TicketStatus(previous) if previous in statuses else None,
    )

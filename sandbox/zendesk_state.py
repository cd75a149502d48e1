"""Zendesk's ticket rules as the product meets them, plus the webhooks they fire.

Only the behaviour the product relies on is imitated, but that part faithfully: idempotent
creates, follow-ups of closed tickets, "closed prevents ticket update", requester replies that
reopen a ticket, the per-ticket and account-wide rate limits, and event-subscription webhooks
for every created ticket, added comment and status change. Each create and update is also kept
as a ticket event for the incremental export (`zendesk_events`), where webhooks that never
arrived can be found.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sandbox import zendesk_events, zendesk_users
from sandbox.delivery import ZENDESK_POLICY
from sandbox.ratelimit import RollingWindow
from sandbox.signing import zendesk_headers
from sandbox.state import WebhookState
from sandbox.zendesk_checks import (
    check_assignment,
    check_brand,
    check_comment,
    check_updatable,
)
from sandbox.zendesk_limits import ZendeskLimits
from sandbox.zendesk_model import (
    API_USER_ID,
    DEFAULT_BRAND_ID,
    Comment,
    CommentInput,
    IdempotentCreate,
    Status,
    Ticket,
    TicketInput,
    User,
    UserInput,
    ZendeskConfig,
    ZendeskData,
    ZendeskError,
    audit_metadata,
    not_found,
    record_invalid,
)
from sandbox.zendesk_render import (
    API_VIA,
    audit_json,
    comment_added_event,
    comment_html,
    status_changed_event,
    ticket_json,
    webhook_event,
)

SYSTEM_ACTOR = -1
"""The actor Zendesk names when its own automations change a ticket."""


def _tag_list(tags: list[str] | str | None) -> list[str]:
    """Zendesk tags: lower case, no duplicates; a string is a space-separated list."""
    words = tags.split() if isinstance(tags, str) else tags or []
    return list(dict.fromkeys(word.strip().lower() for word in words if word.strip()))


class ZendeskState(WebhookState[ZendeskData, ZendeskConfig]):
    """The Zendesk account: tickets, users, uploads, idempotency keys."""

    def __init__(
        self,
        *,
        config: ZendeskConfig,
        webhook_secret: str,
        api_email: str,
        subdomain: str,
        state_file: Path | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.base_url = f"https://{subdomain}.zendesk.com"
        self.limits = ZendeskLimits()
        self.recent_exports = RollingWindow()
        """Requests to the incremental ticket event export (its own per-minute limit)."""
        super().__init__(
            lambda: ZendeskData.seeded(self.now(), api_email),
            state_file,
            config,
            transport,
            ZENDESK_POLICY,
        )

    def now(self) -> int:
        return int(self.clock())

    async def reset(self) -> None:
        self.limits.clear()
        self.recent_exports.clear()
        await super().reset()

    def user(self, user_id: int) -> User:
        if user_id not in self.data.users:
            raise not_found()
        return self.data.users[user_id]

    def ticket(self, ticket_id: int) -> Ticket:
        if ticket_id not in self.data.tickets:
            raise not_found()
        return self.data.tickets[ticket_id]

    def admit_request(self, method: str, path: str) -> ZendeskError | None:
        """Count one API request against the account's limits; the 429 if over one."""
        return self.limits.admit(method, path, self.config, self.clock())

    def rate_limit_headers(self, method: str, path: str) -> dict[str, str]:
        return self.limits.headers(method, path, self.config, self.clock())

    # Tickets

    def create_ticket(
        self, body: dict[str, Any], idempotency_key: str | None, system: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create a ticket; returns the response body and whether it replays an earlier one.

        `system` is what Zendesk notes of the request on its audit (client, IP address)."""
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if idempotency_key is not None:
            remembered = self.data.recall_create(idempotency_key, fingerprint, self.clock())
            if remembered is not None:
                return remembered, True
        given = TicketInput.model_validate(body.get("ticket") or {})
        metadata = audit_metadata(given.metadata, system)
        ticket, comment = self._new_ticket(given, metadata)
        response = {
            "ticket": ticket_json(ticket, self.base_url),
            "audit": audit_json(
                ticket,
                self.base_url,
                audit_id=comment.audit_id,
                actor_id=comment.author_id,
                comment=comment,
                status_change=None,
                metadata=metadata,
            ),
        }
        if idempotency_key is not None:
            self.data.idempotency[idempotency_key] = IdempotentCreate(
                fingerprint=fingerprint, remembered_at=self.clock(), response=response
            )
        self.save()
        return response, False

    def _new_ticket(self, given: TicketInput, metadata: dict[str, Any]) -> tuple[Ticket, Comment]:
        source = None
        if given.via_followup_source_id is not None:
            source = self.data.tickets.get(given.via_followup_source_id)
            if source is None:
                raise record_invalid("via_followup_source_id", "is not a valid ticket id")
            if source.status != "closed":
                raise record_invalid(
                    "via_followup_source_id",
                    f"Ticket {source.id} is not closed: only closed tickets have follow-ups",
                )
        first = given.comment or CommentInput(body=given.description)
        if not (first.body or first.html_body):
            raise record_invalid("description", "Description: cannot be blank")
        check_comment(self.data, first, self.clock())
        brand_id = check_brand(given.brand_id or DEFAULT_BRAND_ID)
        check_assignment(self.data, given.group_id, given.assignee_id)
        requester_id = zendesk_users.requester_id(self.data, given, self.now())
        via = API_VIA
        if source is not None:
            via = {
                "channel": "api",
                "source": {
                    "rel": "follow_up",
                    "to": {},
                    "from": {"id": source.id, "ticket_id": source.id, "title": source.subject},
                },
            }
        now = self.now()
        ticket = Ticket(
            id=self.data.new_id("ticket"),
            external_id=given.external_id,
            subject=given.subject,
            description="",
            status=given.status or ("open" if given.assignee_id else "new"),
            priority=given.priority,
            type=given.type,
            requester_id=requester_id,
            submitter_id=first.author_id or API_USER_ID,
            assignee_id=given.assignee_id,
            group_id=given.group_id,
            brand_id=brand_id,
            tags=_tag_list(given.tags),
            custom_fields={f.id: f.value for f in (given.custom_fields or given.fields or [])},
            via=via,
            created_at=now,
            updated_at=now,
        )
        comment = self._add_comment(ticket, first, now, metadata)
        ticket.description = comment.body
        self.data.tickets[ticket.id] = ticket
        self._audit(ticket, comment.audit_id, comment.author_id, None, comment, metadata=metadata)
        if source is not None:
            source.followup_ids.append(ticket.id)
        self._emit("created", ticket, actor_id=comment.author_id, event={})
        self._emit_comment(ticket, comment)
        return ticket, comment

    def update_ticket(
        self, ticket_id: int, body: dict[str, Any], system: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply `PUT /api/v2/tickets/{id}`; returns the response body (ticket and audit)."""
        ticket = self.ticket(ticket_id)
        now = self.clock()
        check_updatable(
            ticket,
            now,
            limit=self.config.ticket_update_limit,
            window=self.config.ticket_update_window_seconds,
        )
        given = TicketInput.model_validate(body.get("ticket") or {})
        changed = given.model_fields_set
        # Everything is checked before anything changes: a refused update leaves no trace.
        given_comment = given.comment
        if given_comment is not None and not (given_comment.body or given_comment.html_body):
            given_comment = None
        if given_comment is not None:
            check_comment(self.data, given_comment, now)
        check_assignment(self.data, given.group_id, given.assignee_id)
        brand_id = ticket.brand_id if given.brand_id is None else check_brand(given.brand_id)
        before = zendesk_events.audited(ticket)
        if given.requester_id is not None or given.requester is not None:
            ticket.requester_id = zendesk_users.requester_id(self.data, given, self.now())
        ticket.brand_id = brand_id
        previous_status = ticket.status
        metadata = audit_metadata(given.metadata, system)
        comment = None
        if given_comment is not None:
            comment = self._add_comment(ticket, given_comment, int(now), metadata)
        for name in ("subject", "priority", "type", "external_id", "group_id", "assignee_id"):
            if name in changed:
                setattr(ticket, name, getattr(given, name))
        if "tags" in changed:
            ticket.tags = _tag_list(given.tags)
        ticket.tags = [t for t in ticket.tags if t not in _tag_list(given.remove_tags)]
        ticket.tags = _tag_list(ticket.tags + _tag_list(given.additional_tags))
        for field in given.custom_fields or given.fields or []:
            ticket.custom_fields[field.id] = field.value
        ticket.status = self._next_status(ticket, given.status, comment)
        if ticket.status == "solved" and ticket.assignee_id is None:
            author = self.data.users.get(comment.author_id) if comment else None
            ticket.assignee_id = author.id if author and author.is_staff else API_USER_ID
        ticket.updated_at = int(now)
        ticket.recent_updates.append(now)
        actor_id = comment.author_id if comment else API_USER_ID
        if comment is not None:
            self._emit_comment(ticket, comment)
        status_change = self._status_changed(ticket, previous_status, actor_id)
        audit_id = comment.audit_id if comment else self.data.new_id("audit")
        self._audit(ticket, audit_id, actor_id, before, comment, metadata=metadata)
        self.save()
        return {
            "ticket": ticket_json(ticket, self.base_url),
            "audit": audit_json(
                ticket,
                self.base_url,
                audit_id=audit_id,
                actor_id=actor_id,
                comment=comment,
                status_change=status_change,
                metadata=metadata,
            ),
        }

    def _next_status(
        self, ticket: Ticket, requested: Status | None, comment: Comment | None
    ) -> Status:
        """The explicit status, else Zendesk's own moves: a requester reply reopens a
        pending or solved ticket, and assigning a new ticket opens it."""
        if requested is not None:
            return requested
        if (
            comment
            and comment.author_id == ticket.requester_id
            and ticket.status in {"pending", "solved"}
        ):
            return "open"
        if ticket.status == "new" and ticket.assignee_id is not None:
            return "open"
        return ticket.status

    def force_status(self, ticket_id: int, status: Status) -> Ticket:
        """Set a status as Zendesk's automations do (closing solved tickets, say), no limits."""
        ticket = self.ticket(ticket_id)
        before = zendesk_events.audited(ticket)
        previous, ticket.status = ticket.status, status
        if self._status_changed(ticket, previous, SYSTEM_ACTOR):
            ticket.updated_at = self.now()
            audit_id = self.data.new_id("audit")
            self._audit(ticket, audit_id, SYSTEM_ACTOR, before, via=zendesk_events.RULE_VIA)
            self.save()
        return ticket

    def _audit(
        self,
        ticket: Ticket,
        audit_id: int,
        updater_id: int,
        before: dict[str, Any] | None,
        comment: Comment | None = None,
        via: str = zendesk_events.API_VIA,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Keep the ticket event of a create (`before` None) or an update, for the export."""
        zendesk_events.record(
            self.data,
            ticket,
            event_id=audit_id,
            at=self.now(),
            updater_id=updater_id,
            before=before,
            comment=comment,
            via=via,
            metadata=metadata,
        )

    def _status_changed(
        self, ticket: Ticket, previous: Status, actor_id: int
    ) -> dict[str, Any] | None:
        """Announce a status change (webhook); returns it for the audit, None if unchanged."""
        if ticket.status == previous:
            return None
        event = status_changed_event(previous, ticket.status)
        self._emit("status_changed", ticket, actor_id=actor_id, event=event)
        return {"value": ticket.status, "previous_value": previous}

    def _add_comment(
        self, ticket: Ticket, given: CommentInput, now: int, metadata: dict[str, Any]
    ) -> Comment:
        if given.body:
            body, html_body = given.body, comment_html(given.body)
        else:
            html_body = given.html_body or ""
            body = html.unescape(re.sub(r"<[^>]+>", "", html_body))
        comment = Comment(
            id=self.data.new_id("comment"),
            audit_id=self.data.new_id("audit"),
            author_id=given.author_id or API_USER_ID,
            body=body,
            html_body=html_body,
            public=given.public,
            attachments=[a for token in given.uploads for a in self.data.uploads[token]],
            created_at=now,
            metadata=metadata,
        )
        ticket.comments.append(comment)
        return comment

    def create_or_update_user(self, given: UserInput) -> tuple[User, bool]:
        user, created = zendesk_users.create_or_update_user(self.data, given, self.now())
        self.save()
        return user, created

    # Webhooks

    def _emit_comment(self, ticket: Ticket, comment: Comment) -> None:
        author = self.data.users[comment.author_id]
        self._emit(
            "comment_added", ticket, actor_id=author.id, event=comment_added_event(comment, author)
        )

    def _emit(self, kind: str, ticket: Ticket, *, actor_id: int, event: dict[str, Any]) -> None:
        url = self.config.webhook_url
        if url is None:
            return
        at = self.clock()
        payload = webhook_event(
            kind, ticket, actor_id=actor_id, event=event, event_id=str(uuid.uuid4()), at=at
        )
        content = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Zendesk Webhook",
            **zendesk_headers(self.webhook_secret, content, datetime.fromtimestamp(at, UTC)),
        }
        self.deliverer.submit(
            url=url,
            content=content,
            headers=headers,
            label=payload["type"],
            key=f"ticket:{ticket.id}",
        )

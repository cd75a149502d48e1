"""The JSON the Zendesk sandbox answers and sends, shaped like Zendesk's own.

API objects follow the spec's schemas (TicketObject, TicketCommentObject, UserForAdmin, ...),
so the product parses what it will meet in production. Webhook bodies follow Zendesk's event
subscription payloads, which differ from the API: ids are strings and statuses upper case.
"""

from __future__ import annotations

import base64
import binascii
import html
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sandbox.zendesk_model import (
    ACCOUNT_CREATED,
    ACCOUNT_ID,
    BRANDS,
    GROUPS,
    SUPPORT_GROUP_ID,
    TICKET_FIELDS,
    Attachment,
    Comment,
    Ticket,
    User,
    ZendeskError,
)

API_VIA: dict[str, Any] = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}
EVENT_VERSION = "2022-11-06"


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_json(ticket: Ticket, base_url: str) -> dict[str, Any]:
    fields = [{"id": field_id, "value": value} for field_id, value in ticket.custom_fields.items()]
    rendered: dict[str, Any] = {
        "url": f"{base_url}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": ticket.external_id,
        "via": ticket.via,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "generated_timestamp": ticket.updated_at,
        "type": ticket.type,
        "subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "status": ticket.status,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": None,
        "group_id": ticket.group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "problem_id": None,
        "has_incidents": False,
        "is_public": any(comment.public for comment in ticket.comments),
        "due_at": None,
        "tags": ticket.tags,
        "custom_fields": fields,
        "fields": fields,
        "sharing_agreement_ids": [],
        "custom_status_id": None,
        "followup_ids": ticket.followup_ids,
        "ticket_form_id": None,
        "brand_id": ticket.brand_id,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }
    if ticket.subject is not None:
        rendered["raw_subject"] = ticket.subject
    return rendered


def comment_html(body: str) -> str:
    """The `html_body` Zendesk derives from a plain-text comment body."""
    paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in body.split("\n\n"))
    return f'<div class="zd-comment" dir="auto">{paragraphs.replace(chr(10), "<br>")}</div>'


def attachment_json(
    attachment: Attachment, base_url: str, files_base: str | None = None
) -> dict[str, Any]:
    """`files_base` is the host the caller used: `content_url` is fetched from there."""
    token = attachment.content_token or attachment.token
    content_url = f"{files_base or base_url}/attachments/token/{token}/?name={attachment.file_name}"
    return {
        "url": f"{base_url}/api/v2/attachments/{attachment.id}.json",
        "id": attachment.id,
        "file_name": attachment.file_name,
        "content_url": content_url,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "inline": False,
        "deleted": False,
        "malware_access_override": False,
        "malware_scan_result": "malware_not_found",
        "thumbnails": [],
    }


def comment_json(comment: Comment, base_url: str, files_base: str | None = None) -> dict[str, Any]:
    return {
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": comment.html_body,
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [attachment_json(a, base_url, files_base) for a in comment.attachments],
        "audit_id": comment.audit_id,
        "via": API_VIA,
        "created_at": iso(comment.created_at),
        "metadata": comment.metadata or {"system": {}, "custom": {}},
    }


def audit_json(
    ticket: Ticket,
    base_url: str,
    *,
    audit_id: int,
    actor_id: int,
    comment: Comment | None,
    status_change: dict[str, Any] | None,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """The audit a create or update answers with: its comment and status change, if any."""
    events = [] if comment is None else [comment_json(comment, base_url)]
    if status_change is not None:
        events.append({"type": "Change", "field_name": "status", **status_change})
    return {
        "id": audit_id,
        "ticket_id": ticket.id,
        "created_at": iso(ticket.updated_at),
        "author_id": actor_id,
        "metadata": metadata,
        "via": API_VIA,
        "events": events,
    }


def user_json(user: User, base_url: str) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "url": f"{base_url}/api/v2/users/{user.id}.json",
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "external_id": user.external_id,
        "role": user.role,
        "details": user.details or "",
        "notes": user.notes or "",
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "locale": "en-US",
        "locale_id": 1,
        "organization_id": None,
        "photo": None,
        "shared_phone_number": None,
        "role_type": None,
        "custom_role_id": None,
        "ticket_restriction": None if user.is_staff else "requested",
        "active": True,
        "verified": user.email is not None,
        "suspended": False,
        "moderator": user.is_staff,
        "only_private_comments": False,
        "restricted_agent": False,
        "shared": False,
        "shared_agent": False,
        "two_factor_auth_enabled": None,
        "signature": "",
        "tags": [],
        "user_fields": {},
    }
    if user.is_staff:
        rendered["default_group_id"] = SUPPORT_GROUP_ID
    return rendered


def brand_json(brand_id: int, base_url: str) -> dict[str, Any]:
    brand = BRANDS[brand_id]
    return {
        "url": f"{base_url}/api/v2/brands/{brand_id}.json",
        "id": brand_id,
        "name": brand["name"],
        "brand_url": f"https://{brand['subdomain']}.zendesk.com",
        "subdomain": brand["subdomain"],
        "has_help_center": False,
        "help_center_state": "disabled",
        "active": True,
        "default": brand["default"],
        "is_deleted": False,
        "ticket_form_ids": [],
        "signature_template": "{{agent.signature}}",
        "created_at": iso(ACCOUNT_CREATED),
        "updated_at": iso(ACCOUNT_CREATED),
    }


def group_json(group_id: int, base_url: str) -> dict[str, Any]:
    group = GROUPS[group_id]
    return {
        "url": f"{base_url}/api/v2/groups/{group_id}.json",
        "id": group_id,
        "name": group["name"],
        "description": group["description"],
        "default": group["default"],
        "is_public": True,
        "deleted": False,
        "created_at": iso(ACCOUNT_CREATED),
        "updated_at": iso(ACCOUNT_CREATED),
    }


def ticket_field_json(field_id: int, base_url: str) -> dict[str, Any]:
    field = TICKET_FIELDS[field_id]
    return {
        "url": f"{base_url}/api/v2/ticket_fields/{field_id}.json",
        "id": field_id,
        "type": field["type"],
        "title": field["title"],
        "raw_title": field["title"],
        "title_in_portal": field["title"],
        "raw_title_in_portal": field["title"],
        "description": "",
        "raw_description": "",
        "position": 1,
        "active": True,
        "required": False,
        "removable": True,
        "collapsed_for_agents": False,
        "regexp_for_validation": None,
        "visible_in_portal": False,
        "editable_in_portal": False,
        "required_in_portal": False,
        "created_at": iso(ACCOUNT_CREATED),
        "updated_at": iso(ACCOUNT_CREATED),
    }


def _id_string(value: int | None) -> str | None:
    return None if value is None else str(value)


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


def webhook_event(
    kind: str, ticket: Ticket, *, actor_id: int, event: dict[str, Any], event_id: str, at: float
) -> dict[str, Any]:
    """One event-subscription payload (`zen:event-type:ticket.<kind>`) about `ticket`."""
    return {
        "type": f"zen:event-type:ticket.{kind}",
        "account_id": ACCOUNT_ID,
        "id": event_id,
        "time": iso(at),
        "zendesk_event_version": EVENT_VERSION,
        "subject": f"zen:ticket:{ticket.id}",
        "detail": {
            "actor_id": str(actor_id),
            "assignee_id": _id_string(ticket.assignee_id),
            "brand_id": str(ticket.brand_id),
            "created_at": iso(ticket.created_at),
            "updated_at": iso(ticket.updated_at),
            "description": ticket.description,
            "external_id": ticket.external_id,
            "form_id": None,
            "group_id": _id_string(ticket.group_id),
            "id": str(ticket.id),
            "is_public": any(comment.public for comment in ticket.comments),
            "organization_id": None,
            "priority": _upper(ticket.priority),
            "requester_id": str(ticket.requester_id),
            "status": ticket.status.upper(),
            "subject": ticket.subject,
            "submitter_id": str(ticket.submitter_id),
            "tags": ticket.tags,
            "type": _upper(ticket.type),
            "via": {"channel": ticket.via["channel"]},
        },
        "event": event,
    }


def comment_added_event(comment: Comment, author: User) -> dict[str, Any]:
    return {
        "comment": {
            "id": str(comment.id),
            "body": comment.body,
            "is_public": comment.public,
            "author": {"id": str(author.id), "is_staff": author.is_staff, "name": author.name},
        }
    }


def status_changed_event(previous: str, current: str) -> dict[str, Any]:
    return {"current": current.upper(), "previous": previous.upper()}


def export_page(
    tickets: Iterable[Ticket],
    base_url: str,
    *,
    start_time: int | None,
    cursor: str | None,
    per_page: int,
) -> dict[str, Any]:
    """One page of the cursor-based incremental export: tickets ordered by (updated_at, id)
    after the position named by `cursor`, or updated at or after `start_time`."""
    if cursor is not None:
        try:
            updated, ticket_id = (int(p) for p in base64.urlsafe_b64decode(cursor).split(b":"))
        except (ValueError, binascii.Error) as exc:
            raise ZendeskError(400, "InvalidPaginationParameter", "cursor is invalid") from exc
    elif start_time is not None:
        updated, ticket_id = start_time, 0
    else:
        raise ZendeskError(400, "InvalidValue", "start_time or cursor is required")
    after = sorted(
        (t for t in tickets if (t.updated_at, t.id) > (updated, ticket_id)),
        key=lambda t: (t.updated_at, t.id),
    )
    page = after[:per_page]
    if page:
        updated, ticket_id = page[-1].updated_at, page[-1].id
    after_cursor = base64.urlsafe_b64encode(f"{updated}:{ticket_id}".encode()).decode()
    return {
        "tickets": [ticket_json(t, base_url) for t in page],
        "after_cursor": after_cursor,
        "after_url": f"{base_url}/api/v2/incremental/tickets/cursor.json?cursor={after_cursor}",
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": len(after) <= per_page,
    }

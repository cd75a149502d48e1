"""What Zendesk refuses in a ticket create or update (422 RecordInvalid), checked before
anything changes so that a refused request leaves no trace."""

from __future__ import annotations

import math

from sandbox.zendesk_model import (
    API_USER_ID,
    BRANDS,
    GROUPS,
    UPLOAD_TOKEN_SECONDS,
    CommentInput,
    Ticket,
    ZendeskData,
    ZendeskError,
    record_invalid,
)


def check_updatable(ticket: Ticket, now: float, *, limit: int, window: float) -> None:
    """The per-ticket update limit (429), then "closed prevents ticket update" (422)."""
    ticket.recent_updates = [t for t in ticket.recent_updates if t > now - window]
    if len(ticket.recent_updates) >= limit:
        raise ZendeskError(
            429,
            "TooManyRequests",
            f"Ticket {ticket.id} was updated {len(ticket.recent_updates)} times in the last"
            f" {window:g} seconds; try again later",
            retry_after=max(1, math.ceil(ticket.recent_updates[0] + window - now)),
        )
    if ticket.status == "closed":
        raise ZendeskError(
            422,
            "RecordInvalid",
            "Record validation errors",
            details={"status": [{"description": "Status: closed prevents ticket update"}]},
        )


def check_comment(data: ZendeskData, given: CommentInput, now: float) -> None:
    author_id = given.author_id or API_USER_ID
    if author_id not in data.users:
        raise record_invalid("author_id", f"User {author_id} does not exist")
    unknown = [token for token in given.uploads if token not in data.uploads]
    if unknown:
        raise record_invalid("uploads", f"Unknown upload token(s): {', '.join(unknown)}")
    # A token lasts 60 minutes from its first upload; after that it attaches nothing.
    expired = [
        token
        for token in given.uploads
        if now - data.uploads[token][0].uploaded_at > UPLOAD_TOKEN_SECONDS
    ]
    if expired:
        raise record_invalid("uploads", f"Expired upload token(s): {', '.join(expired)}")


def check_brand(brand_id: int) -> int:
    if brand_id not in BRANDS:
        raise record_invalid("brand_id", f"Brand {brand_id} does not exist")
    return brand_id


def check_assignment(data: ZendeskData, group_id: int | None, assignee_id: int | None) -> None:
    if group_id is not None and group_id not in GROUPS:
        raise record_invalid("group_id", f"Group {group_id} does not exist")
    if assignee_id is not None:
        assignee = data.users.get(assignee_id)
        if assignee is None or not assignee.is_staff:
            raise record_invalid("assignee_id", f"User {assignee_id} is not an agent")

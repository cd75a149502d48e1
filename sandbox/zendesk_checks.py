"""What Zendesk refuses in a ticket create or update (422 RecordInvalid), checked before
anything changes so that a refused request leaves no trace."""

from __future__ import annotations

from sandbox.zendesk_model import (
    API_USER_ID,
    BRANDS,
    GROUPS,
    CommentInput,
    ZendeskData,
    record_invalid,
)


def check_comment(data: ZendeskData, given: CommentInput) -> None:
    author_id = given.author_id or API_USER_ID
    if author_id not in data.users:
        raise record_invalid("author_id", f"User {author_id} does not exist")
    unknown = [token for token in given.uploads if token not in data.uploads]
    if unknown:
        raise record_invalid("uploads", f"Unknown upload token(s): {', '.join(unknown)}")


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

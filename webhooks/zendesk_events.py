"""The parts of Zendesk's event-subscription payloads that smsdesk reads.

Zendesk sends ids as strings and statuses in upper case; these models accept that and hand
the product plain ints and lower-case statuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.messages import TicketStatus

COMMENT_ADDED = "zen:event-type:ticket.comment_added"
STATUS_CHANGED = "zen:event-type:ticket.status_changed"
TICKET_CREATED = "zen:event-type:ticket.created"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _lower_status(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class TicketDetail(_Lenient):
    id: int
    status: TicketStatus | None = None
    brand_id: int | None = None
    requester_id: int | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)

    _status = field_validator("status", mode="before")(_lower_status)


class CommentAuthor(_Lenient):
    id: int
    is_staff: bool = False
    name: str | None = None


class EventComment(_Lenient):
    id: int
    body: str = ""
    is_public: bool
    author: CommentAuthor


class CommentAddedDetail(_Lenient):
    comment: EventComment


class StatusChangedDetail(_Lenient):
    current: TicketStatus
    previous: TicketStatus | None = None

    _statuses = field_validator("current", "previous", mode="before")(_lower_status)


class ZendeskEvent(_Lenient):
    type: str
    id: str
    time: datetime
    detail: TicketDetail
    event: dict[str, Any] = Field(default_factory=dict)

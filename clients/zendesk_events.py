"""Zendesk's incremental ticket event export, as the reconciler reads it (B1).

`GET /api/v2/incremental/ticket_events?start_time=…&include=comment_events`: every
change made to any ticket, oldest first, up to 1,000 a page. Zendesk leaves out the last
minute and refuses a `start_time` less than a minute old; the endpoint allows 10 requests a
minute and admins only. Pages may repeat an event at their edges: callers dedupe by id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The newest `start_time` Zendesk accepts is this many seconds ago.
EXPORT_LAG_SECONDS = 60


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChildEvent(_Lenient):
    """One change inside a ticket update: `Create`, `Change`, `Comment`, …"""

    id: int | None = None
    event_type: str
    field_name: str | None = None
    #: Comment children (with the `comment_events` sideload).
    author_id: int | None = None
    body: str | None = None
    public: bool | None = None

    def status_value(self) -> tuple[str | None, str | None]:
        """(new, previous) status if this child sets the ticket's status, else (None, None)."""
        extra = self.model_extra or {}
        if self.event_type == "Create" and isinstance(extra.get("status"), str):
            return extra["status"].lower(), None
        if self.event_type == "Change" and (self.field_name == "status" or "status" in extra):
            value = extra.get("status", extra.get("value"))
            previous = extra.get("previous_value")
            return (
                value.lower() if isinstance(value, str) else None,
                previous.lower() if isinstance(previous, str) else None,
            )
        return None, None


class TicketEvent(_Lenient):
    id: int
    ticket_id: int
    timestamp: int
    updater_id: int | None = None
    child_events: list[ChildEvent] = Field(default_factory=list)

    @field_validator("child_events", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)

    @property
    def created_ticket(self) -> bool:
        return any(child.event_type == "Create" for child in self.child_events)


class TicketEventPage(_Lenient):
    ticket_events: list[TicketEvent] = Field(default_factory=list)
    end_time: int | None = None
    end_of_stream: bool = True
    count: int | None = None

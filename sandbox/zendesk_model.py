"""Records of the Zendesk sandbox (what it persists) and the account it starts with.

Times are whole epoch seconds, as Zendesk's API shows them; the JSON shapes the API returns
are built from these records in `zendesk_render`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sandbox.delivery import DeliveryConfig
from sandbox.service import ApiError

ACCOUNT_ID = 1234567
ACCOUNT_CREATED = 1704067200
"""2024-01-01: when the seeded brands, group and field were made."""
API_USER_ID = 1
AGENT_ID = 2
DEFAULT_BRAND_ID = 360001
SUPPORT_GROUP_ID = 20001
ORDER_NUMBER_FIELD_ID = 9001
IDEMPOTENCY_SECONDS = 2 * 60 * 60
"""How long Zendesk remembers an `Idempotency-Key`."""
UPLOAD_TOKEN_SECONDS = 60 * 60
"""How long an upload token can be attached to a comment (Upload Files: "valid for 60 minutes")."""

Status = Literal["new", "open", "pending", "hold", "solved", "closed"]
Role = Literal["end-user", "agent", "admin"]

BRANDS: dict[int, dict[str, Any]] = {
    DEFAULT_BRAND_ID: {"name": "Acme", "subdomain": "acme", "default": True},
    360002: {"name": "Acme SMS", "subdomain": "acme-sms", "default": False},
}
GROUPS: dict[int, dict[str, Any]] = {
    SUPPORT_GROUP_ID: {"name": "Support", "description": "First-line support", "default": True},
}
TICKET_FIELDS: dict[int, dict[str, Any]] = {
    ORDER_NUMBER_FIELD_ID: {"title": "Order number", "type": "text"},
}


class ZendeskError(ApiError):
    """Zendesk's error body: `{"error": <name>, "description": ..., "details"?: ...}`."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        body: dict[str, Any] = {"error": error, "description": description}
        if details is not None:
            body["details"] = details
        super().__init__(status, body, retry_after=retry_after)


def record_invalid(field: str, description: str) -> ZendeskError:
    """Zendesk's 422 for a value it refuses (`details` keyed by the offending field)."""
    return ZendeskError(
        422,
        "RecordInvalid",
        "Record validation errors",
        details={field: [{"description": description, "error": "InvalidValue"}]},
    )


def audit_metadata(custom: dict[str, Any] | None, system: dict[str, Any]) -> dict[str, Any]:
    """An audit's `metadata`: what Zendesk saw of the request, and the request's own."""
    return {"system": dict(system), "custom": dict(custom or {})}


def not_found() -> ZendeskError:
    return ZendeskError(404, "RecordNotFound", "Not found")


class ZendeskConfig(DeliveryConfig):
    """Run-time settings (`POST /_sandbox/config`)."""

    webhook_url: str | None = None
    requests_per_minute: int | None = Field(default=None, ge=1)
    """The plan's limit on all API requests of the account (None: none; Enterprise is 700)."""
    update_ticket_requests_per_minute: int | None = Field(default=100, ge=1)
    """Update Ticket's own limit per account, on top of the plan's (Zendesk: 100)."""
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    """The rolling window both limits count over (Zendesk: a minute; tests shorten it)."""
    ticket_update_limit: int = Field(default=30, ge=1)
    ticket_update_window_seconds: float = Field(default=600.0, gt=0)
    incremental_lag_seconds: float = Field(default=60.0, ge=0)
    """The incremental ticket event export hides this recent a past (and refuses to start in it)."""
    incremental_requests_per_minute: int | None = Field(default=10, ge=1)
    """The export's own limit per account (None: none), on top of `requests_per_minute`."""


class User(BaseModel):
    id: int
    name: str
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    role: Role = "end-user"
    details: str | None = None
    notes: str | None = None
    created_at: int
    updated_at: int

    @property
    def is_staff(self) -> bool:
        return self.role != "end-user"


class Attachment(BaseModel):
    id: int
    token: str
    file_name: str
    content_type: str
    size: int
    content_token: str = ""
    """The secret part of `content_url` (not the upload token, as in Zendesk)."""
    uploaded_at: float = 0.0
    """When it was uploaded: its upload token is good for `UPLOAD_TOKEN_SECONDS` after that."""


class Comment(BaseModel):
    id: int
    audit_id: int
    author_id: int
    body: str
    html_body: str
    public: bool
    attachments: list[Attachment] = []
    created_at: int
    metadata: dict[str, Any] = {}
    """Its audit's `metadata` (`system` and `custom`), which Zendesk shows on the comment too."""


class Ticket(BaseModel):
    id: int
    external_id: str | None = None
    subject: str | None = None
    description: str
    status: Status
    priority: str | None = None
    type: str | None = None
    requester_id: int
    submitter_id: int
    assignee_id: int | None = None
    group_id: int | None = None
    brand_id: int
    tags: list[str] = []
    custom_fields: dict[int, Any] = {}
    via: dict[str, Any]
    followup_ids: list[int] = []
    comments: list[Comment] = []
    recent_updates: list[float] = []
    """When the last updates happened, for the per-ticket update limit."""
    created_at: int
    updated_at: int


class TicketEvent(BaseModel):
    """One ticket update as the incremental ticket event export shows it (an audit).

    `child_events` hold the Create and Change children without their `via`; the update's
    comment, if any, is shown from the ticket's comments (`comment_id`), with or without the
    `comment_events` sideload.
    """

    id: int
    ticket_id: int
    timestamp: int
    updater_id: int
    via: str
    child_events: list[dict[str, Any]] = []
    comment_id: int | None = None
    metadata: dict[str, Any] = {}
    """The audit's `metadata`: `system` (client, IP address) and `custom` (what the request's
    write-only `ticket.metadata` gave), as `GET /api/v2/tickets/{id}/audits` shows it."""


class IdempotentCreate(BaseModel):
    """A ticket create remembered under its `Idempotency-Key`."""

    fingerprint: str
    remembered_at: float
    response: dict[str, Any]


class ZendeskData(BaseModel):
    users: dict[int, User]
    tickets: dict[int, Ticket] = {}
    uploads: dict[str, list[Attachment]] = {}
    """Upload sets by token: `POST /api/v2/uploads?token=` adds a file to an existing set."""
    files: dict[int, str] = {}
    """Each attachment's bytes (base64), served at its authenticated `content_url`."""
    idempotency: dict[str, IdempotentCreate] = {}
    ticket_events: list[TicketEvent] = []
    next_ids: dict[str, int] = {
        "ticket": 1001,
        "user": 10001,
        "comment": 900001,
        "audit": 700001,
        "attachment": 800001,
    }
    """Distinct ranges, so that a ticket id used as a user id shows up in a test at once."""

    def recall_create(self, key: str, fingerprint: str, now: float) -> dict[str, Any] | None:
        """The response of the create remembered under `key`, if any (keys last two hours);
        the same key with another body is Zendesk's 400 IdempotentRequestError."""
        for old, entry in list(self.idempotency.items()):
            if entry.remembered_at <= now - IDEMPOTENCY_SECONDS:
                del self.idempotency[old]
        remembered = self.idempotency.get(key)
        if remembered is None:
            return None
        if remembered.fingerprint != fingerprint:
            raise ZendeskError(
                400,
                "IdempotentRequestError",
                "The Idempotency-Key was already used with a different request body",
            )
        return remembered.response

    def new_id(self, kind: str) -> int:
        issued = self.next_ids[kind]
        self.next_ids[kind] = issued + 1
        return issued

    @classmethod
    def seeded(cls, now: int, api_email: str) -> ZendeskData:
        """The account every sandbox starts with: the API user (admin) and one agent."""
        users = [
            User(
                id=API_USER_ID,
                name="smsdesk API",
                email=api_email,
                role="admin",
                created_at=now,
                updated_at=now,
            ),
            User(
                id=AGENT_ID,
                name="Alex Agent",
                email="alex@acme.example",
                role="agent",
                created_at=now,
                updated_at=now,
            ),
        ]
        return cls(users={user.id: user for user in users})


class CommentInput(BaseModel):
    """`ticket.comment` of a create or update request (fields the sandbox acts on)."""

    body: str | None = None
    html_body: str | None = None
    public: bool = True
    author_id: int | None = None
    uploads: list[str] = []


class RequesterInput(BaseModel):
    name: str | None = None
    email: str | None = None


class FieldValue(BaseModel):
    id: int
    value: Any = None


class TicketInput(BaseModel):
    """`ticket` of a create or update request; absent and null differ (`model_fields_set`).

    Types are checked loosely here: the request body was already checked against the spec.
    """

    subject: str | None = None
    description: str | None = None
    comment: CommentInput | None = None
    requester_id: int | None = None
    requester: RequesterInput | int | str | None = None
    external_id: str | None = None
    brand_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    status: Status | None = None
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    type: Literal["problem", "incident", "question", "task"] | None = None
    tags: list[str] | str | None = None
    additional_tags: list[str] | str | None = None
    remove_tags: list[str] | str | None = None
    custom_fields: list[FieldValue] | None = None
    fields: list[FieldValue] | None = None
    via_followup_source_id: int | None = None
    metadata: dict[str, Any] | None = None
    """Write-only: kept on the request's audit as `metadata.custom`."""


class UserInput(BaseModel):
    """`user` of `POST /api/v2/users/create_or_update`."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    role: Role | None = None
    details: str | None = None
    notes: str | None = None

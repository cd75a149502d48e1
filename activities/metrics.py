"""Activities of the ticket metrics (SPEC M15): read a ticket from Zendesk, send it to Klaviyo.

The Zendesk reads run on the Zendesk task queue, inside the account's rate budget (B5); the
Klaviyo send runs on the main queue. Reading is split in two so that a ticket of a brand that is
not synced (M2) costs one Zendesk call, not four.

A ticket smsdesk opened itself needs no read at all (B14: at most 2 Zendesk requests per new
conversation, the requester's and the create): its create response and its requester's contact
are in the product database, and `known_opened_ticket` builds the event from them.

Exactly-once (B4): the event carries a `unique_id` derived from ticket and metric, so a retried
send, a replayed workflow or a second workflow for the same ticket is dropped by Klaviyo.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import retry_decisions
from clients.klaviyo import KlaviyoClient
from clients.zendesk import ZendeskClient, ZendeskTicketDetails, ZendeskUser
from core.conversation import SMS_EXTERNAL_ID_PREFIX, names_a_conversation
from core.phone import InvalidPhoneNumber, to_e164
from core.ticket_metrics import Metric
from infra import db

#: A requester's contact stands for the one at a ticket's creation if Zendesk answered with it
#: this shortly before: the conversation asks for its requester just before opening a ticket.
REQUESTER_SEEN_BEFORE_OPENING = timedelta(minutes=10)

#: The event's properties, exactly: marketers segment on these names (M15).
PROPERTY_NAMES = (
    "Assignee_Email",
    "Assignee_Name",
    "Channel",
    "Description",
    "Fields",
    "Group_Name",
    "Priority",
    "Subject",
    "Tags",
    "Ticket_ID",
    "Type",
    "Via",
    "Zendesk_URL",
    "Status",
)


class TicketLookup(BaseModel):
    ticket_id: int
    #: For `known_opened_ticket`: smsdesk opened this ticket, so a missing record means its
    #: create has not been recorded yet (retryable), not that the ticket is someone else's.
    awaits_record: bool = False


class KlaviyoProfileRef(BaseModel):
    """Who the event belongs to: the requester's email, else their phone in E.164."""

    email: str | None = None
    phone_number: str | None = None


class TicketSnapshot(BaseModel):
    """The ticket with the names its ids point at, ready to become an event."""

    ticket: ZendeskTicketDetails
    #: None when the requester has neither an email nor a usable phone number.
    profile: KlaviyoProfileRef | None
    assignee_email: str | None = None
    assignee_name: str | None = None
    group_name: str | None = None
    #: Custom field values by field title (by id, as text, when the field is unknown).
    fields: dict[str, Any]


class KnownTicket(BaseModel):
    """The Opened Ticket snapshot of a ticket smsdesk opened, if what it holds is enough."""

    snapshot: TicketSnapshot | None


class MetricEventInput(BaseModel):
    metric: Metric
    occurred_at: datetime
    unique_id: str
    snapshot: TicketSnapshot


class MetricEventResult(BaseModel):
    unique_id: str


class MetricsActivities:
    """Holds the API clients; built once per worker process, so its caches live as long."""

    def __init__(
        self, zendesk: ZendeskClient, klaviyo: KlaviyoClient, engine: Engine, *, zendesk_url: str
    ) -> None:
        self._zendesk = zendesk
        self._klaviyo = klaviyo
        self._engine = engine
        self._zendesk_url = zendesk_url.rstrip("/")
        # Groups and field titles change rarely; caching them keeps a ticket at 2-3 calls.
        self._group_names: dict[int, str] = {}
        self._field_titles: dict[int, str] = {}

    @activity.defn
    async def known_opened_ticket(self, request: TicketLookup) -> KnownTicket:
        """The ticket as smsdesk's own create left it, with its requester's contact: no
        Zendesk request. None when smsdesk did not open it, or when the create response holds
        names only Zendesk can give (an assignee, a group, filled custom fields)."""
        snapshot = await asyncio.to_thread(self._opened_by_smsdesk, request)
        return KnownTicket(snapshot=snapshot)

    def _opened_by_smsdesk(self, request: TicketLookup) -> TicketSnapshot | None:
        # Both reads in one thread hop: this runs for every ticket opened.
        link = db.ticket_link(self._engine, ticket_id=request.ticket_id)
        if link is None and request.awaits_record:
            raise ApplicationError(
                f"ticket {request.ticket_id}: smsdesk opened it but has not recorded it yet",
                type="NotRecordedYet",
            )
        if link is None or link.opened_as is None:
            return None
        ticket = ZendeskTicketDetails.model_validate_json(link.opened_as)
        filled = any(field.get("value") is not None for field in ticket.custom_fields)
        if ticket.assignee_id or ticket.group_id or filled or ticket.requester_id is None:
            return None
        contact = db.requester(self._engine, user_id=ticket.requester_id)
        if contact is None or contact.seen_at < link.created_at - REQUESTER_SEEN_BEFORE_OPENING:
            return None
        requester = ZendeskUser(
            id=contact.user_id,
            email=contact.email,
            phone=contact.phone,
            external_id=contact.external_id,
        )
        return TicketSnapshot(ticket=ticket, profile=profile_of(requester), fields={})

    @activity.defn
    async def read_ticket(self, request: TicketLookup) -> ZendeskTicketDetails:
        """The ticket as Zendesk shows it now (its brand decides whether it is synced, M2)."""
        with retry_decisions():
            return await self._zendesk.get_ticket_details(request.ticket_id)

    @activity.defn
    async def snapshot_ticket(self, ticket: ZendeskTicketDetails) -> TicketSnapshot:
        """Add the requester's contact, the assignee, the group name and field titles."""
        with retry_decisions():
            requester = (
                await self._zendesk.get_user(ticket.requester_id) if ticket.requester_id else None
            )
            assignee = (
                await self._zendesk.get_user(ticket.assignee_id) if ticket.assignee_id else None
            )
            group_name = await self._group_name(ticket.group_id)
            fields = await self._titled_fields(ticket.custom_fields)
        return TicketSnapshot(
            ticket=ticket,
            profile=profile_of(requester),
            assignee_email=assignee.email if assignee else None,
            assignee_name=assignee.name if assignee else None,
            group_name=group_name,
            fields=fields,
        )

    @activity.defn
    async def send_metric_event(self, request: MetricEventInput) -> MetricEventResult:
        """POST the event to Klaviyo; a repeat of its `unique_id` is dropped there."""
        attributes = event_attributes(request, zendesk_url=self._zendesk_url)
        with retry_decisions():
            await self._klaviyo.create_event(attributes)
        return MetricEventResult(unique_id=request.unique_id)

    async def _group_name(self, group_id: int | None) -> str | None:
        if group_id is None:
            return None
        if group_id not in self._group_names:
            self._group_names[group_id] = (await self._zendesk.get_group(group_id)).name
        return self._group_names[group_id]

    async def _titled_fields(self, values: list[dict[str, Any]]) -> dict[str, Any]:
        filled = {int(v["id"]): v.get("value") for v in values if v.get("value") is not None}
        if any(field_id not in self._field_titles for field_id in filled):
            # A field created since the cache was filled: read the titles again, once.
            fields = await self._zendesk.list_ticket_fields()
            self._field_titles = {field.id: field.title for field in fields}
        return {self._field_titles.get(fid, str(fid)): value for fid, value in filled.items()}


def profile_of(requester: ZendeskUser | None) -> KlaviyoProfileRef | None:
    """The requester's email, else phone: from the user's `phone`, or the `sms:+1…`
    external id smsdesk gives the end-users it creates."""
    if requester is None:
        return None
    if requester.email:
        return KlaviyoProfileRef(email=requester.email)
    candidates = [requester.phone]
    if requester.external_id and requester.external_id.startswith(SMS_EXTERNAL_ID_PREFIX):
        candidates.append(requester.external_id.removeprefix(SMS_EXTERNAL_ID_PREFIX))
    for candidate in candidates:
        if candidate:
            try:
                return KlaviyoProfileRef(phone_number=to_e164(candidate))
            except InvalidPhoneNumber:
                continue  # a local-format phone cannot name a Klaviyo profile; try the next
    return None


def event_properties(snapshot: TicketSnapshot, *, zendesk_url: str) -> dict[str, Any]:
    """The 14 properties of M15, every one present (null when Zendesk has no value)."""
    ticket = snapshot.ticket
    channel = ticket.via.get("channel")
    return {
        "Assignee_Email": snapshot.assignee_email,
        "Assignee_Name": snapshot.assignee_name,
        "Channel": "sms" if _is_sms_ticket(ticket) else channel,
        "Description": ticket.description,
        "Fields": snapshot.fields,
        "Group_Name": snapshot.group_name,
        "Priority": ticket.priority,
        "Subject": ticket.subject,
        "Tags": ticket.tags,
        "Ticket_ID": ticket.id,
        "Type": ticket.type,
        "Via": _via(ticket.via),
        "Zendesk_URL": f"{zendesk_url.rstrip('/')}/agent/tickets/{ticket.id}",
        "Status": ticket.status,
    }


def event_attributes(request: MetricEventInput, *, zendesk_url: str) -> dict[str, Any]:
    """The `attributes` of Klaviyo's EventCreateQueryV2 resource."""
    profile = request.snapshot.profile
    if profile is None:
        raise ValueError("an event needs the requester's email or phone")  # workflow checks first
    return {
        "properties": event_properties(request.snapshot, zendesk_url=zendesk_url),
        "time": _aware(request.occurred_at).isoformat(),
        "unique_id": request.unique_id,
        "metric": {"data": {"type": "metric", "attributes": {"name": request.metric.value}}},
        "profile": {
            "data": {"type": "profile", "attributes": profile.model_dump(exclude_none=True)}
        },
    }


def _aware(moment: datetime) -> datetime:
    # RFC 3339 needs an offset; Zendesk's event times are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_sms_ticket(ticket: ZendeskTicketDetails) -> bool:
    # Zendesk sees smsdesk's tickets as API tickets; the customer's channel was SMS.
    return names_a_conversation(ticket.external_id) or ticket.via.get("channel") == "sms"


def _via(via: dict[str, Any]) -> str | None:
    """Zendesk's `via` as one segmentable string: the channel, and the relation if any
    (e.g. "api", "email", "web (follow_up)")."""
    channel = via.get("channel")
    rel = (via.get("source") or {}).get("rel")
    if channel and rel:
        return f"{channel} ({rel})"
    return channel

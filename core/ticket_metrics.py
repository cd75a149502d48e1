"""What a TicketMetrics workflow is started with and what it answers (SPEC M2, M15).

Shared by the webhook that starts the workflow and the workflow itself, so the receiver never
imports workflow code. One workflow per (ticket, metric): its id is derived from both, so a
redelivered webhook or a replayed event finds the id taken and changes nothing. Ticket ids are
only unique within a Zendesk account, so the id also names the account's host: two deployments
(staging and production, say) sharing a Temporal namespace cannot swallow each other's events.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from core.settings import Settings

WORKFLOW_NAME = "TicketMetrics"
WORKFLOW_ID_PREFIX = "ticket-metrics-"


class Metric(StrEnum):
    """The Klaviyo metric names, exactly as marketers see them (M15)."""

    OPENED = "Opened Ticket"
    RESOLVED = "Resolved Ticket"

    @property
    def slug(self) -> str:
        return "opened" if self is Metric.OPENED else "resolved"


def zendesk_account(zendesk_url: str) -> str:
    """The account's host (with its port, if any), e.g. `acme.zendesk.com`."""
    return urlsplit(zendesk_url).netloc or zendesk_url


def metrics_workflow_id(account: str, ticket_id: int, metric: Metric) -> str:
    return f"{WORKFLOW_ID_PREFIX}{account}-{ticket_id}-{metric.slug}"


def metric_unique_id(ticket_id: int, metric: Metric) -> str:
    """Klaviyo's `unique_id`: the same for every retry and replay, so the event counts once."""
    return f"zendesk-{ticket_id}-{metric.slug}"


class TicketMetricsInput(BaseModel):
    ticket_id: int
    metric: Metric
    #: When the ticket opened or closed (the Zendesk event's time): the Klaviyo event's `time`.
    occurred_at: datetime
    #: The Zendesk event that started this workflow, for operators tracing a delivery.
    event_id: str
    #: See `zendesk_account`: part of the workflow id.
    zendesk_account: str
    #: Workflows read no environment: the settings they need travel in the input.
    zendesk_task_queue: str
    #: None: every brand counts (ZENDESK_METRICS_BRANDS=all).
    brand_ids: list[int] | None = None
    #: Look for the ticket in smsdesk's database before reading Zendesk (B14). Runs started
    #: before this field existed lack it and replay as they ran. A field, not a patch: every
    #: `workflow.patched` also upserts the `TemporalChangeVersion` search attribute, a
    #: visibility write for each of these short runs.
    known_tickets_first: bool = False
    #: The event named one of smsdesk's conversations as the ticket's external id. Zendesk can
    #: announce a ticket before the activity that created it has recorded it, so its record is
    #: awaited for a few seconds before Zendesk is read instead.
    opened_by_smsdesk: bool = False

    @classmethod
    def for_event(
        cls,
        *,
        ticket_id: int,
        metric: Metric,
        occurred_at: datetime,
        event_id: str,
        settings: Settings,
        opened_by_smsdesk: bool = False,
    ) -> TicketMetricsInput:
        brands = settings.metrics_brand_ids
        return cls(
            ticket_id=ticket_id,
            metric=metric,
            occurred_at=occurred_at,
            event_id=event_id,
            zendesk_account=zendesk_account(settings.zendesk_url),
            zendesk_task_queue=settings.zendesk_task_queue,
            brand_ids=None if brands is None else sorted(brands),
            known_tickets_first=True,
            opened_by_smsdesk=opened_by_smsdesk,
        )

    @property
    def workflow_id(self) -> str:
        return metrics_workflow_id(self.zendesk_account, self.ticket_id, self.metric)


class TicketMetricsResult(BaseModel):
    outcome: Literal["sent", "skipped"]
    #: Why nothing was sent (brand not chosen, requester unreachable); None when sent.
    reason: str | None = None
    unique_id: str

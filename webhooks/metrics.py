"""Starting the TicketMetrics workflow from a Zendesk event (M15), for every ticket of every
channel. Whether the ticket's brand is synced (M2) is the workflow's call: it records why it
skipped, where an operator can read it.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.messages import TicketStatus
from core.settings import Settings
from core.ticket_metrics import WORKFLOW_NAME, Metric, TicketMetricsInput
from webhooks.zendesk_events import (
    STATUS_CHANGED,
    TICKET_CREATED,
    StatusChangedDetail,
    ZendeskEvent,
)


def metric_of(event: ZendeskEvent, status_change: StatusChangedDetail | None) -> Metric | None:
    """The metric an event stands for: created opens, closed resolves; solved is not resolved."""
    if event.type == TICKET_CREATED:
        return Metric.OPENED
    if event.type == STATUS_CHANGED and status_change is not None:
        if status_change.current is TicketStatus.CLOSED:
            return Metric.RESOLVED
    return None


async def start_ticket_metrics(
    temporal: Client, settings: Settings, event: ZendeskEvent, metric: Metric
) -> bool:
    """Start the workflow; returns False when it already exists (a redelivery: a no-op).

    Rejecting a duplicate id even after the first run finished is what makes a redelivered
    webhook harmless; Klaviyo's `unique_id` covers a replay after the run left retention.
    """
    request = TicketMetricsInput.for_event(
        ticket_id=event.detail.id,
        metric=metric,
        occurred_at=event.time,
        event_id=event.id,
        settings=settings,
    )
    try:
        await temporal.start_workflow(
            WORKFLOW_NAME,
            request,
            id=request.workflow_id,
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True

"""Starting the TicketMetrics workflow from a Zendesk event (M15), for every ticket of every
channel. Whether the ticket's brand is synced (M2) is the workflow's call: it records why it
skipped, where an operator can read it.
"""

from __future__ import annotations

from core.conversation import names_a_conversation
from core.messages import TicketStatus
from core.settings import Settings
from core.ticket_metrics import Metric, TicketMetricsInput
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


def metrics_input(event: ZendeskEvent, metric: Metric, settings: Settings) -> TicketMetricsInput:
    """The workflow's input; its id is the (ticket, metric) pair, so a redelivered event, or
    the reconciler finding the same one, starts nothing new."""
    return TicketMetricsInput.for_event(
        ticket_id=event.detail.id,
        metric=metric,
        occurred_at=event.time,
        event_id=event.id,
        settings=settings,
        opened_by_smsdesk=names_a_conversation(event.detail.external_id),
    )

"""TicketMetrics: one short workflow per Zendesk ticket event that Klaviyo should see (M15).

"Opened Ticket" when a ticket is created, "Resolved Ticket" when it is closed (not solved).
The workflow id names ticket and metric, so a redelivered webhook cannot start a second run;
the event's `unique_id` covers what the id cannot (a replay after the run left retention).

Outages are waited out (durable retries); a request Klaviyo or Zendesk refuses for good fails
the run with the service's reason. A ticket that must not become an event (brand not chosen,
requester unreachable, ticket deleted) completes as "skipped", saying why.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.metrics import (
        MetricEventInput,
        MetricsActivities,
        TicketLookup,
        TicketSnapshot,
    )
    from core.ticket_metrics import (
        WORKFLOW_NAME,
        Metric,
        TicketMetricsInput,
        TicketMetricsResult,
        metric_unique_id,
    )
    from workflows.calls import Calls


#: How long a ticket smsdesk opened is awaited in its database: Zendesk's event can come before
#: the create's activity records the ticket, usually by milliseconds. About 5 s in all, in the
#: worker (local retries this short need no timer).
AWAITING_THE_RECORD = RetryPolicy(
    initial_interval=timedelta(seconds=0.2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=6,
)


@workflow.defn(name=WORKFLOW_NAME)
class TicketMetrics:
    @workflow.run
    async def run(self, request: TicketMetricsInput) -> TicketMetricsResult:
        unique_id = metric_unique_id(request.ticket_id, request.metric)
        # As the conversation's: outages are waited out however long they last.
        calls = Calls(request.zendesk_task_queue)

        def skipped(reason: str) -> TicketMetricsResult:
            workflow.logger.info(
                "ticket %s: no %s event: %s", request.ticket_id, request.metric, reason
            )
            return TicketMetricsResult(outcome="skipped", reason=reason, unique_id=unique_id)

        lookup = TicketLookup(ticket_id=request.ticket_id)
        snapshot: TicketSnapshot | None = None
        if request.metric is Metric.OPENED and request.known_tickets_first:
            # A ticket smsdesk opened: its create response and requester are in the database.
            snapshot = await _known_snapshot(calls, request)
        ticket = snapshot.ticket if snapshot is not None else None
        if ticket is None:
            try:
                ticket = await calls.zendesk(MetricsActivities.read_ticket, lookup)
            except ActivityError as err:
                if _error_type(err) == "NotFound":
                    return skipped(f"ticket {request.ticket_id} no longer exists in Zendesk")
                raise _refused("Zendesk", request, err) from err

        if request.brand_ids is not None and ticket.brand_id not in request.brand_ids:
            chosen = ", ".join(str(brand) for brand in request.brand_ids)
            return skipped(
                f"brand {ticket.brand_id} is not among ZENDESK_METRICS_BRANDS ({chosen})"
            )

        if snapshot is None:
            try:
                snapshot = await calls.zendesk(MetricsActivities.snapshot_ticket, ticket)
            except ActivityError as err:
                raise _refused("Zendesk", request, err) from err
        if snapshot.profile is None:
            return skipped(
                f"requester {ticket.requester_id} has neither an email nor a phone number"
            )

        try:
            await calls.run(
                MetricsActivities.send_metric_event,
                MetricEventInput(
                    metric=request.metric,
                    occurred_at=request.occurred_at,
                    unique_id=unique_id,
                    snapshot=snapshot,
                ),
            )
        except ActivityError as err:
            raise _refused("Klaviyo", request, err) from err
        return TicketMetricsResult(outcome="sent", unique_id=unique_id)


async def _known_snapshot(calls: Calls, request: TicketMetricsInput) -> TicketSnapshot | None:
    lookup = TicketLookup(ticket_id=request.ticket_id, awaits_record=request.opened_by_smsdesk)
    if not lookup.awaits_record:
        return (await calls.local(MetricsActivities.known_opened_ticket, lookup)).snapshot
    try:
        known = await calls.local(
            MetricsActivities.known_opened_ticket, lookup, retry_policy=AWAITING_THE_RECORD
        )
    except (ActivityError, ApplicationError):
        # Still not recorded (its worker died between the create and the record, say): what
        # Zendesk holds makes the same event, at the price of reading it. (This SDK raises a
        # local activity's last failure as the activity's own error, not in an ActivityError.)
        return None
    return known.snapshot


def _error_type(err: ActivityError) -> str | None:
    return err.cause.type if isinstance(err.cause, ApplicationError) else None


def _refused(service: str, request: TicketMetricsInput, err: ActivityError) -> ApplicationError:
    """Fail the run naming the reason: with durable retries only a refusal for good gets here
    (a 4xx other than 408/409/429), so retrying the workflow could not help either."""
    cause = err.cause
    reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
    return ApplicationError(
        f"{service} refused the {request.metric} event of ticket {request.ticket_id}: {reason}",
        type=_error_type(err) or "Refused",
        non_retryable=True,
    )

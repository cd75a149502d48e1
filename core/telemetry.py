"""What operators count (Prometheus): the product's own counters, and the Temporal SDK's.
Traces are `infra/tracing.py`.

The counters live in prometheus_client's process registry; the webhook server serves them at
`/metrics`, the worker on `METRICS_PORT`. The SDK's own metrics (workflow task latency,
schedule-to-start, sticky cache, polls…) come from its Rust core, served on
`TEMPORAL_SDK_METRICS_BIND_ADDRESS` when set (see `infra.temporal.sdk_runtime`); this module
imports no Temporal, so the API clients that count their calls here stay free of it.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "smsdesk_events_total",
    "Events handed to a workflow, by kind and how: accepted by Temporal, journaled, or a "
    "duplicate already there",
    ["kind", "outcome"],
)
INTAKE_BACKLOG = Gauge(
    "smsdesk_intake_backlog_events", "Events waiting in the intake journal for Temporal"
)
INTAKE_OLDEST = Gauge(
    "smsdesk_intake_oldest_age_seconds", "Age of the oldest event in the intake journal"
)
INTAKE_FORWARDED = Counter(
    "smsdesk_intake_forwarded_total", "Journaled events the forwarder handed to Temporal"
)
API_REQUESTS = Counter(
    "smsdesk_api_requests_total",
    "Requests to Zendesk, the SMS provider and Klaviyo, by endpoint and answer (429: over the "
    "service's budget; `transport`: no answer)",
    ["service", "method", "endpoint", "status"],
)
ZENDESK_BUDGET = Gauge(
    "smsdesk_zendesk_budget_requests_per_minute",
    "The account-wide Zendesk budget smsdesk keeps to (ZENDESK_REQUESTS_PER_MINUTE); compare "
    'with rate(smsdesk_api_requests_total{service="zendesk"}[1m]) * 60',
)
ZENDESK_UPDATE_BUDGET = Gauge(
    "smsdesk_zendesk_update_budget_requests_per_minute",
    "smsdesk's share of Update Ticket's own 100 a minute (ZENDESK_UPDATE_REQUESTS_PER_MINUTE)",
)
ZENDESK_BUDGET_PAUSES = Counter(
    "smsdesk_zendesk_budget_pauses_total",
    "Times a Zendesk budget was paused for every process, by budget and why: `429` (Zendesk "
    "refused), `headers` (others are spending the account's window)",
    ["budget", "reason"],
)
ZENDESK_BUDGET_WAITS = Counter(
    "smsdesk_zendesk_budget_waits_total",
    "Activities sent back to wait for a Zendesk budget (no slot within one attempt's reach)",
    ["budget"],
)
TICKETS = Counter("smsdesk_tickets_created_total", "Tickets smsdesk created, follow-ups included")
COMMENTS = Counter(
    "smsdesk_customer_comments_total", "Comments of customer texts added to existing tickets"
)
TEXTS_SENT = Counter(
    "smsdesk_texts_total",
    "Texts smsdesk asked the provider to send, by kind and outcome",
    ["kind", "outcome"],
)
REPAIRS = Counter(
    "smsdesk_reconciler_repairs_total",
    "What the reconciler found missing and handed over",
    ["kind"],
)
GC_PAUSES = Histogram(
    "smsdesk_gc_pause_seconds",
    "How long each garbage collection stopped the process, by generation (2: a full pass, "
    "which walks every object the process holds)",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def record_events(kind: str, outcome: str) -> None:
    EVENTS.labels(kind=kind, outcome=outcome).inc()

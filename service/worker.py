"""The worker factory: the Temporal workers of one process, wired to real clients, and the
loop that serves them. `worker.py` runs it; the dev stack, the tests and the bench build their
workers here too, so all of them run exactly what production runs.

Three workers share one process: the main task queue runs the workflows and the SMS/customer
activities; the Zendesk task queue runs the Zendesk calls, its `-updates` sibling the ticket
updates. Zendesk's budgets (the account's and Update Ticket's, B5/B14) are kept per request in
the product database, shared by every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import start_http_server
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

import migrations
from activities.agent_media import AgentMediaActivities
from activities.customers import CustomerActivities
from activities.media import MediaActivities
from activities.metrics import MetricsActivities
from activities.reconcile import ReconcileActivities
from activities.records import RecordActivities
from activities.sms import SmsActivities
from activities.zendesk import ZendeskActivities
from clients.klaviyo import KlaviyoClient
from clients.twilio import TwilioClient
from clients.twilio_media import TwilioMediaClient
from core.media_urls import MediaUrls
from core.queues import zendesk_update_queue
from core.settings import Settings
from core.telemetry import ZENDESK_BUDGET, ZENDESK_UPDATE_BUDGET
from infra import temporal
from infra.db import make_engine
from infra.temporal_checks import check_temporal
from intake.door import Door
from service.zendesk import zendesk_client
from workflows.conversation import SmsConversation
from workflows.reconcile import Reconcile
from workflows.ticket_metrics import TicketMetrics

log = logging.getLogger("smsdesk.worker")
#: In-flight activities get this long to finish on shutdown before they are cancelled (and
#: retried by another worker): every activity is idempotent, so either way nothing is lost.
SHUTDOWN_GRACE = timedelta(seconds=10)


def _secret(value: Any, name: str) -> str:
    if value is None:
        raise SystemExit(f"{name} is not set: see .env.example")
    return str(value.get_secret_value())


def build_workers(
    client: Client,
    settings: Settings,
    *,
    http: httpx.AsyncClient,
    engine: Engine,
    shutdown_grace: timedelta = SHUTDOWN_GRACE,
) -> list[Worker]:
    """The workers of one process, wired to real clients. Tests use this same factory."""
    # With an OAuth client, one token provider serves every Zendesk call of the process; the
    # budgets live in the database, shared with every other worker process (B14).
    zendesk = zendesk_client(settings, http, engine)
    if settings.twilio_account_sid is None:
        raise SystemExit("TWILIO_ACCOUNT_SID is not set: see .env.example")
    twilio = TwilioClient(
        http,
        base_url=settings.twilio_base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=_secret(settings.twilio_auth_token, "TWILIO_AUTH_TOKEN"),
    )
    media = MediaActivities(
        TwilioMediaClient(
            http,
            base_url=settings.twilio_base_url,
            account_sid=settings.twilio_account_sid,
            auth_token=_secret(settings.twilio_auth_token, "TWILIO_AUTH_TOKEN"),
        ),
        zendesk,
    )
    klaviyo = KlaviyoClient(
        http,
        base_url=settings.klaviyo_base_url,
        api_key=_secret(settings.klaviyo_api_key, "KLAVIYO_API_KEY"),
        revision=settings.klaviyo_revision,
    )
    customers = CustomerActivities(
        klaviyo, engine, profile_ttl=timedelta(seconds=settings.klaviyo_profile_cache_seconds)
    )
    signer = None
    if settings.media_url_secret is not None:
        signer = MediaUrls(
            base_url=settings.public_base_url,
            secret=settings.media_url_secret.get_secret_value(),
            ttl_seconds=settings.media_url_ttl_seconds,
        )
    sms = SmsActivities(
        twilio,
        engine,
        status_callback_url=settings.public_base_url.rstrip("/") + "/webhooks/sms/status",
        media_urls=signer,
    )
    agent_media = AgentMediaActivities(zendesk, can_sign=signer is not None)
    zendesk_activities = ZendeskActivities(zendesk, engine)
    records = RecordActivities(engine)
    metrics = MetricsActivities(zendesk, klaviyo, engine, zendesk_url=settings.zendesk_url)
    # The reconciler hands what it finds through the same door as the webhooks.
    reconcile = ReconcileActivities(zendesk, twilio, engine, Door(client, engine, settings))
    main = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[SmsConversation, TicketMetrics, Reconcile],
        max_concurrent_workflow_tasks=settings.worker_workflow_task_slots,
        graceful_shutdown_timeout=shutdown_grace,
        activities=[
            customers.triage_inbound,
            customers.customer_context,
            sms.send_sms,
            sms.record_delivery,
            records.record_outbound,
            records.record_attribution,
            records.latest_ticket,
            metrics.known_opened_ticket,
            metrics.send_metric_event,
            reconcile.reconcile_sms,
        ],
    )
    zendesk_worker = Worker(
        client,
        task_queue=settings.zendesk_task_queue,
        activities=[
            zendesk_activities.ensure_requester,
            zendesk_activities.open_ticket,
            zendesk_activities.add_customer_comment,
            zendesk_activities.add_internal_note,
            zendesk_activities.describe_agent,
            zendesk_activities.get_ticket_status,
            zendesk_activities.recall_latest_ticket,
            zendesk_activities.transition_ticket,
            # Uploads count against the Zendesk budget: one request per media item.
            media.upload_inbound_media,
            agent_media.agent_attachments,
            metrics.read_ticket,
            metrics.snapshot_ticket,
            reconcile.reconcile_zendesk,
        ],
        # The budgets themselves are counted per request in the database (service/zendesk.py).
        # This server-side limit only keeps workers from taking more Zendesk activities than
        # the account's budget could serve (each makes at least one request), so a backlog
        # waits on the server rather than in workers.
        max_task_queue_activities_per_second=settings.zendesk_requests_per_minute / 60,
        graceful_shutdown_timeout=shutdown_grace,
    )
    # Ticket updates wait for the scarce update budget (70 a minute by default): a storm's
    # backlog of them stays queued on the server, in order, rather than in workers sent back
    # and forth by BudgetWait. The budget itself is still taken per request from the database.
    zendesk_updates = Worker(
        client,
        task_queue=zendesk_update_queue(settings.zendesk_task_queue),
        activities=[
            zendesk_activities.add_customer_comment,
            zendesk_activities.add_internal_note,
            zendesk_activities.transition_ticket,
        ],
        max_task_queue_activities_per_second=settings.zendesk_update_requests_per_minute / 60,
        graceful_shutdown_timeout=shutdown_grace,
    )
    return [main, zendesk_worker, zendesk_updates]


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for every API; it never retries (Temporal does)."""
    return httpx.AsyncClient(
        timeout=settings.http_timeout_seconds,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


async def run_workers(workers: Sequence[Worker]) -> None:
    """Run until cancelled, then shut down gracefully (in-flight activities finish)."""
    await asyncio.gather(*(worker.run() for worker in workers))


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then let in-flight activities finish before exiting."""
    engine = make_engine(settings.database_url)
    migrations.require_head(engine)  # before Temporal: a schema left behind is said at once
    client = await temporal.connect(settings)
    await check_temporal(client, settings.temporal_namespace)
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port)  # the product's counters, for Prometheus
    ZENDESK_BUDGET.set(settings.zendesk_requests_per_minute)
    ZENDESK_UPDATE_BUDGET.set(settings.zendesk_update_requests_per_minute)
    await temporal.ensure_reconcile_schedule(client, settings)
    async with http_client(settings) as http:
        workers = build_workers(client, settings, http=http, engine=engine)
        running = asyncio.create_task(run_workers(workers))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, running.cancel)
        log.info(
            "worker polling %s, %s and %s",
            settings.temporal_task_queue,
            settings.zendesk_task_queue,
            zendesk_update_queue(settings.zendesk_task_queue),
        )
        with contextlib.suppress(asyncio.CancelledError):
            await running

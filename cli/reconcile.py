"""`reconcile`: run the reconciler once now and print what it repaired (B1, B10); `intake`:
what waits in the webhooks' intake journal for Temporal (B9).

    python starter.py reconcile                         # from the saved cursors
    python starter.py reconcile --since 2026-12-02T09:00:00Z
    python starter.py intake

The `smsdesk-reconcile` schedule runs the same workflow every RECONCILE_INTERVAL; a worker must
be running for either to make progress.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import TYPE_CHECKING

from cli.common import database, temporal_client

if TYPE_CHECKING:
    from core.settings import Settings


async def reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from core.reconcile import SCHEDULE_ID, WORKFLOW_NAME, ReconcileInput, ReconcileReport

    client = await temporal_client(settings)
    report = await client.execute_workflow(
        WORKFLOW_NAME,
        ReconcileInput(since=args.since, zendesk_task_queue=settings.zendesk_task_queue),
        id=f"{SCHEDULE_ID}-manual-{uuid.uuid4().hex[:8]}",
        task_queue=settings.temporal_task_queue,
        result_type=ReconcileReport,
    )
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report.summary())
    return 0


async def intake(settings: Settings, args: argparse.Namespace) -> int:
    from intake import journal  # SQLAlchemy: `reconcile` needs only Temporal

    backlog = await asyncio.to_thread(journal.backlog, database(settings))
    figures = {
        "events": backlog.events,
        "workflows": backlog.workflows,
        "oldest_age_seconds": backlog.oldest_age_seconds(),
    }
    if args.json:
        print(json.dumps(figures))
    elif backlog.events == 0:
        print("intake journal: empty (every event has reached Temporal)")
    else:
        print(
            f"intake journal: {backlog.events} event(s) for {backlog.workflows} workflow(s) "
            f"waiting for Temporal, the oldest for {figures['oldest_age_seconds']:.0f} s"
        )
    return 0

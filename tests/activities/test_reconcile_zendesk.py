"""The reconciler's Zendesk side under ActivityEnvironment, against a fake export
(httpx.MockTransport): pages followed and deduped, the cursor kept at the lag's edge, and
credentials that are not an admin's reported instead of retried forever."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities import reconcile_cursors as cursors
from activities.reconcile_zendesk import ZendeskSide
from clients.zendesk import ZendeskClient
from core.reconcile import SideInput
from core.settings import Settings
from intake.door import Door


class FakeExport:
    """`GET /api/v2/incremental/ticket_events`: two pages sharing an edge event, or a 403."""

    def __init__(self, *, admin: bool = True) -> None:
        self.admin = admin
        self.start_times: list[int] = []
        now = int(time.time())
        self.events = [_created(100 + i, 5000 + i, now - 300 + i) for i in range(3)]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.admin:
            return httpx.Response(403, json={"error": "Forbidden", "description": "admins only"})
        start = int(request.url.params["start_time"])
        self.start_times.append(start)
        page = [e for e in self.events if e["timestamp"] >= start][:2]
        last = page[-1]["timestamp"] if page else start
        return httpx.Response(
            200,
            json={
                "ticket_events": page,
                "end_time": last,
                "end_of_stream": len(page) < 2,
                "next_page": None,
                "count": len(page),
            },
        )


def _created(event_id: int, ticket_id: int, at: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "ticket_id": ticket_id,
        "timestamp": at,
        "updater_id": 7,
        "event_type": "Audit",
        "child_events": [{"id": event_id + 1, "event_type": "Create", "status": "new"}],
    }


def _side(export: FakeExport, client: Client, engine: Engine) -> ZendeskSide:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=client.service_client.config.target_host,
        temporal_task_queue="nobody-polls-this",
        metrics_sync_enabled=True,
        sms_sync_enabled=False,  # this test reads metrics only: no conversation involved
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(export.handler))
    zendesk = ZendeskClient(http, base_url="https://acme.zendesk.com", authorization="Bearer t")
    return ZendeskSide(zendesk, engine, Door(client, engine, settings))


async def test_pages_are_followed_each_event_read_once_and_the_cursor_kept(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    export = FakeExport()
    side = _side(export, temporal_env.client, engine)
    started = datetime.fromtimestamp(export.events[0]["timestamp"] - 10, UTC)
    called_at = time.time()  # the lag's edge is taken from the clock inside the run
    repairs = await ActivityEnvironment().run(
        side.reconcile, SideInput(since=started, run_started_at=started)
    )
    assert repairs.events_read == 3  # the edge event came twice and counts once
    assert repairs.opened == [5000, 5001, 5002]  # no Opened Ticket workflow existed
    # Each page starts at the last one's end_time, so the edge event is read twice.
    first = export.events[0]["timestamp"]
    assert export.start_times == [int(started.timestamp()), first + 1, first + 2]
    saved = cursors.read(engine, cursors.ZENDESK_TICKET_EVENTS)
    assert saved is not None and saved.timestamp() >= called_at - 62  # the lag's edge

    again = await ActivityEnvironment().run(
        side.reconcile, SideInput(since=started, run_started_at=started)
    )
    assert again.events_read == 3 and again.opened == []  # the workflows exist: nothing new
    for ticket_id in repairs.opened:
        workflow_id = f"ticket-metrics-acme.zendesk.com-{ticket_id}-opened"
        await temporal_env.client.get_workflow_handle(workflow_id).terminate("test over")


async def test_an_agents_credentials_skip_the_zendesk_side_and_say_why(
    temporal_env: WorkflowEnvironment, engine: Engine
) -> None:
    side = _side(FakeExport(admin=False), temporal_env.client, engine)
    now = datetime.now(UTC)
    repairs = await ActivityEnvironment().run(side.reconcile, SideInput(run_started_at=now))
    assert repairs.skipped is not None and "admin" in repairs.skipped
    assert cursors.read(engine, cursors.ZENDESK_TICKET_EVENTS) is None

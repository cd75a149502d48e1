"""`find`: an operator's way to a conversation (M22), by customer phone, sender number, ticket id
or conversation status, through Temporal's visibility store.

    python starter.py find --phone +15551230001
    python starter.py find --ticket 1001
    python starter.py find --status solved --sender +15550100001

The search attributes hold what `core.conversation.searchable_phone` makes of a number: the
number itself, or its keyed hash under PII protection. `find` hashes the number it is given the
same way, so operators search by phone number without the number ever reaching visibility.
Visibility is eventually consistent: a conversation started a second ago may not be listed yet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from urllib.parse import quote

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from cli.common import temporal_client
from cli.table import cut, table
from core.conversation import STATE_QUERY, WORKFLOW_NAME, ConversationView, searchable_phone
from core.settings import Settings
from infra.temporal_checks import check_temporal

#: Runs whose workflow code can still answer the `state` query (a worker replays closed ones).
QUERYABLE = (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
QUERY_TIMEOUT = timedelta(seconds=10)
CONCURRENT_QUERIES = 20


class Found(BaseModel):
    """One conversation as `find` reports it (also the `--json` output)."""

    workflow_id: str
    run_id: str
    status: str
    started_at: datetime | None
    earlier_runs: int
    ui_url: str
    state: ConversationView | None
    #: Why the state is missing, when it is.
    state_error: str | None = None


def _literal(value: str) -> str:
    # Visibility queries quote strings with single quotes; a quote inside is doubled.
    return "'" + value.replace("'", "''") + "'"


def visibility_query(
    settings: Settings,
    *,
    phone: str | None = None,
    sender: str | None = None,
    ticket_id: int | None = None,
    status: str | None = None,
) -> str:
    """The list filter for conversations matching every given criterion.

    Phone numbers go through `searchable_phone`, so under PII protection the filter holds the
    keyed hash, exactly as the workflow stored it.
    """
    clauses = [f"WorkflowType = {_literal(WORKFLOW_NAME)}"]
    if phone is not None:
        clauses.append(f"CustomerPhone = {_literal(searchable_phone(phone, settings))}")
    if sender is not None:
        clauses.append(f"SenderNumber = {_literal(searchable_phone(sender, settings))}")
    if ticket_id is not None:
        clauses.append(f"ZendeskTicketId = {ticket_id}")
    if status is not None:
        clauses.append(f"ConversationStatus = {_literal(status)}")
    return " AND ".join(clauses)


def ui_link(settings: Settings, workflow_id: str) -> str:
    """The Temporal Web UI page of a workflow (its latest run)."""
    base = settings.temporal_ui_url.rstrip("/")
    namespace = quote(settings.temporal_namespace, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"


async def find_conversations(client: Client, settings: Settings, query: str) -> list[Found]:
    """The latest run of each matching conversation, newest first, with its `state`."""
    runs: dict[str, list[WorkflowExecution]] = {}
    async for execution in client.list_workflows(query):
        runs.setdefault(execution.id, []).append(execution)
    latest_runs = [max(executions, key=lambda e: e.start_time) for executions in runs.values()]
    # Concurrently: a run whose worker is gone takes the whole QUERY_TIMEOUT to give up.
    limit = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def state_of(execution: WorkflowExecution) -> tuple[ConversationView | None, str | None]:
        async with limit:
            return await _state(client, execution)

    states = await asyncio.gather(*(state_of(latest) for latest in latest_runs))
    found = [
        Found(
            workflow_id=latest.id,
            run_id=latest.run_id,
            status=latest.status.name if latest.status else "UNKNOWN",
            started_at=latest.start_time,
            earlier_runs=len(runs[latest.id]) - 1,
            ui_url=ui_link(settings, latest.id),
            state=view,
            state_error=error,
        )
        for latest, (view, error) in zip(latest_runs, states, strict=True)
    ]
    found.sort(key=lambda f: f.started_at or datetime.min, reverse=True)
    return found


async def _state(
    client: Client, execution: WorkflowExecution
) -> tuple[ConversationView | None, str | None]:
    if execution.status not in QUERYABLE:
        return None, f"a {execution.status.name.lower() if execution.status else ''} run"
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    try:
        view = await handle.query(
            STATE_QUERY, result_type=ConversationView, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:  # e.g. no worker polls the task queue to answer the query
        return None, f"query failed: {exc.message}"
    return view, None


def describe(found: list[Found]) -> str:
    """A line per conversation for the terminal: id, run, ticket, texts in and out, UI link."""
    rows = []
    for f in found:
        started = f"{f.started_at:%Y-%m-%d %H:%M}" if f.started_at else None
        run = f.status + (f" (+{f.earlier_runs} earlier)" if f.earlier_runs else "")
        counts: tuple[object, ...] = (None, None, None, None)
        if f.state is None:
            ticket = cut(f"? ({f.state_error})", 40)
        else:
            state = f.state.state
            if state.ticket_id is not None:
                ticket = f"{state.ticket_id} {state.ticket_status or ''}".rstrip()
            elif state.last_closed_ticket_id is not None:
                ticket = f"none (last {state.last_closed_ticket_id}, closed)"
            else:
                ticket = "none"
            counts = (state.texts_received, state.replies_sent, f.state.queued, len(state.failed))
        rows.append((f.workflow_id, run, started, ticket, *counts, f.ui_url))
    headers = ["WORKFLOW ID", "RUN", "STARTED (UTC)", "TICKET", "IN", "OUT", "QUEUED", "FAILED"]
    return table([*headers, "TEMPORAL UI"], rows)


async def find(settings: Settings, args: argparse.Namespace) -> int:
    """List the conversations matching the criteria; 1 when none matched."""
    criteria = (args.phone, args.sender, args.ticket, args.status)
    if all(value is None for value in criteria):
        print("find needs --phone, --sender, --ticket or --status")
        return 2
    query = visibility_query(
        settings, phone=args.phone, sender=args.sender, ticket_id=args.ticket, status=args.status
    )
    client = await temporal_client(settings)
    try:
        found = await find_conversations(client, settings, query)
    except RPCError as exc:
        if exc.status is not RPCStatusCode.INVALID_ARGUMENT:
            raise
        # Most often a search attribute this namespace lacks: say which and how to add it.
        await check_temporal(client, settings.temporal_namespace)
        print(f"Temporal refused the search {query!r}: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([f.model_dump(mode="json") for f in found], indent=2))
    elif not found:
        print("no conversation matches (visibility lags a second or two behind new workflows)")
    else:
        print(describe(found))
    return 0 if found else 1

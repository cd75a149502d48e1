"""One "worker process" for the budget tests: updates tickets through a `ZendeskClient` whose
budgets are the product database's, as each worker process of a deployment does.

    python -m tests.helpers.budget_writer ZENDESK_URL DATABASE_URL UPDATE_BUDGET WINDOW TICKET...

Every ticket id given is updated once, one after the other; the process prints how many
updates Zendesk accepted.
"""

from __future__ import annotations

import asyncio
import sys

import httpx

from clients.zendesk import ZendeskClient
from clients.zendesk_budget import Budget, SharedBudgets
from infra.db import make_engine
from sandbox import credentials

TOKEN = f"Bearer {credentials.ZENDESK_OAUTH_TOKEN}"


async def main(
    zendesk_url: str, database_url: str, budget: int, window: float, tickets: list[int]
) -> int:
    engine = make_engine(database_url)
    budgets = SharedBudgets(
        engine,
        per_minute={Budget.ACCOUNT: 100_000, Budget.UPDATE: budget},
        window_seconds=window,
        lead=60.0,  # no attempt timeout here: every update waits for its slot
    )
    async with httpx.AsyncClient(timeout=30) as http:
        zendesk = ZendeskClient(http, base_url=zendesk_url, authorization=TOKEN, budgets=budgets)
        for ticket_id in tickets:
            await zendesk.update_ticket(
                ticket_id, {"comment": {"body": f"from process {sys.argv[0]}", "public": False}}
            )
    engine.dispose()
    return len(tickets)


if __name__ == "__main__":
    url, database, budget, window, *ids = sys.argv[1:]
    print(asyncio.run(main(url, database, int(budget), float(window), [int(i) for i in ids])))

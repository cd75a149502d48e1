"""The product's Zendesk client as every process makes it: the configured credentials (OAuth,
renewed in-process, or a token) and Zendesk's two budgets kept in the product database (B5,
B14). The workers, the webhook server's media streaming and the CLI's commands all take it from
here, so an operator's `report` or `replay` spends the same budgets as the workers do instead of
racing them for Zendesk's (agents included) and meeting 429s.
"""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from clients.zendesk import ZendeskClient
from clients.zendesk_budget import ACTIVITY_LEAD_SECONDS, Budget, SharedBudgets
from clients.zendesk_oauth import zendesk_authorization
from core.settings import Settings


def zendesk_budgets(
    settings: Settings, engine: Engine, *, lead: float = ACTIVITY_LEAD_SECONDS
) -> SharedBudgets:
    """Zendesk's two budgets (B14), kept in the product database for every process."""
    return SharedBudgets(
        engine,
        per_minute={
            Budget.ACCOUNT: settings.zendesk_requests_per_minute,
            Budget.UPDATE: settings.zendesk_update_requests_per_minute,
        },
        lead=lead,
    )


def zendesk_client(
    settings: Settings,
    http: httpx.AsyncClient,
    engine: Engine,
    *,
    lead: float = ACTIVITY_LEAD_SECONDS,
) -> ZendeskClient:
    """The one way to reach Zendesk: the process's credentials, the shared budgets; a request
    sleeps up to `lead` seconds for its slot, else raises `clients.errors.BudgetWait`.

    Raises:
        ValueError: the settings hold no usable Zendesk credentials.
    """
    return ZendeskClient(
        http,
        base_url=settings.zendesk_url,
        authorization=zendesk_authorization(settings, http),
        budgets=zendesk_budgets(settings, engine, lead=lead),
    )

"""What `setup --provision` makes in Zendesk, idempotently: each object is found by its name
or title first, updated when it differs from what smsdesk needs, and created when missing, so
a second run changes nothing and says "unchanged" for each.

- the webhook "smsdesk": the three ticket events, POSTed as JSON to `<public>/webhooks/zendesk`
  (its signing secret is what `ZENDESK_WEBHOOK_SECRET` must hold);
- the view "SMS conversations" (M17): tickets tagged sms, status less than closed;
- the automation that closes SMS tickets solved for 24 hours (M16; Zendesk counts in hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clients.zendesk_admin import ZendeskAdminClient, ZendeskWebhook

WEBHOOK_NAME = "smsdesk"
WEBHOOK_EVENTS = [
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.status_changed",
]
VIEW_TITLE = "SMS conversations"
VIEW_CONDITIONS = [
    {"field": "status", "operator": "less_than", "value": "closed"},
    {"field": "current_tags", "operator": "includes", "value": "sms"},
]
VIEW_OUTPUT: dict[str, Any] = {
    "columns": ["status", "requester", "description", "brand", "updated"],
    "sort_by": "updated",
    "sort_order": "desc",
}
AUTOMATION_TITLE = "Close solved SMS tickets after 24 hours"
AUTOMATION_CONDITIONS = [
    {"field": "status", "operator": "is", "value": "solved"},
    {"field": "SOLVED", "operator": "greater_than", "value": "24"},
    {"field": "current_tags", "operator": "includes", "value": "sms"},
]
AUTOMATION_ACTIONS = [{"field": "status", "value": "closed"}]


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Provisioned:
    webhook: Outcome
    webhook_id: str
    signing_secret: str
    view: Outcome
    automation: Outcome


def webhook_definition(public_base_url: str) -> dict[str, Any]:
    return {
        "name": WEBHOOK_NAME,
        "endpoint": public_base_url.rstrip("/") + "/webhooks/zendesk",
        "http_method": "POST",
        "request_format": "json",
        "status": "active",
        "subscriptions": WEBHOOK_EVENTS,
    }


def _same_webhook(hook: ZendeskWebhook, wanted: dict[str, Any]) -> bool:
    return (
        hook.endpoint == wanted["endpoint"]
        and hook.http_method == wanted["http_method"]
        and hook.request_format == wanted["request_format"]
        and hook.status == wanted["status"]
        and sorted(hook.subscriptions) == sorted(wanted["subscriptions"])
    )


async def ensure_webhook(
    client: ZendeskAdminClient, public_base_url: str
) -> tuple[Outcome, str, str]:
    """The webhook's outcome, id and signing secret."""
    wanted = webhook_definition(public_base_url)
    named = [h for h in await client.find_webhooks(WEBHOOK_NAME) if h.name == WEBHOOK_NAME]
    # Of several, prefer the one already pointing at us (someone may have made a copy).
    named.sort(key=lambda h: h.endpoint != wanted["endpoint"])
    if not named:
        created = await client.create_webhook(wanted)
        outcome, webhook_id = Outcome.CREATED, created.id
    elif _same_webhook(named[0], wanted):
        outcome, webhook_id = Outcome.UNCHANGED, named[0].id
    else:
        await client.update_webhook(named[0].id, wanted)
        outcome, webhook_id = Outcome.UPDATED, named[0].id
    return outcome, webhook_id, await client.webhook_signing_secret(webhook_id)


def _conditions(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Conditions compared as Zendesk shows them (values as strings, order irrelevant)."""
    return sorted((str(c["field"]), str(c["operator"]), str(c.get("value"))) for c in items)


def _actions(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((str(a["field"]), str(a.get("value"))) for a in items)


def _same_view(view: dict[str, Any]) -> bool:
    conditions = view.get("conditions") or {}
    execution = view.get("execution") or {}
    columns = [c.get("id") if isinstance(c, dict) else c for c in execution.get("columns", [])]
    return (
        _conditions(conditions.get("all") or []) == _conditions(VIEW_CONDITIONS)
        and not conditions.get("any")
        and view.get("active", True) is True
        and columns == VIEW_OUTPUT["columns"]
        and execution.get("sort_by") == VIEW_OUTPUT["sort_by"]
        and execution.get("sort_order") == VIEW_OUTPUT["sort_order"]
    )


async def ensure_view(client: ZendeskAdminClient) -> Outcome:
    wanted = {
        "title": VIEW_TITLE,
        "active": True,
        "all": VIEW_CONDITIONS,
        "any": [],
        "output": VIEW_OUTPUT,
    }
    found = next((v for v in await client.views() if v.get("title") == VIEW_TITLE), None)
    if found is None:
        await client.create_view(wanted)
        return Outcome.CREATED
    if _same_view(found):
        return Outcome.UNCHANGED
    await client.update_view(int(found["id"]), wanted)
    return Outcome.UPDATED


async def ensure_automation(client: ZendeskAdminClient) -> Outcome:
    wanted = {
        "title": AUTOMATION_TITLE,
        "active": True,
        "conditions": {"all": AUTOMATION_CONDITIONS, "any": []},
        "actions": AUTOMATION_ACTIONS,
    }
    automations = await client.automations()
    found = next((a for a in automations if a.get("title") == AUTOMATION_TITLE), None)
    if found is None:
        await client.create_automation(wanted)
        return Outcome.CREATED
    conditions = found.get("conditions") or {}
    same = (
        _conditions(conditions.get("all") or []) == _conditions(AUTOMATION_CONDITIONS)
        and not conditions.get("any")
        and _actions(found.get("actions") or []) == _actions(AUTOMATION_ACTIONS)
        and found.get("active", True) is True
    )
    if same:
        return Outcome.UNCHANGED
    await client.update_automation(int(found["id"]), wanted)
    return Outcome.UPDATED


async def provision(client: ZendeskAdminClient, public_base_url: str) -> Provisioned:
    hook, hook_id, secret = await ensure_webhook(client, public_base_url)
    view = await ensure_view(client)
    automation = await ensure_automation(client)
    return Provisioned(
        webhook=hook, webhook_id=hook_id, signing_secret=secret, view=view, automation=automation
    )

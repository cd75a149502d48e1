"""The reconciler's activities (B1, B10): one per side, each from its own cursor.

The Zendesk side runs on the Zendesk task queue, so its requests draw on the account's
budget like every other Zendesk call (B5); the SMS side on the main queue.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from temporalio import activity

from activities.reconcile_sms import SmsSide
from activities.reconcile_zendesk import ZendeskSide
from clients.twilio import TwilioClient
from clients.zendesk import ZendeskClient
from core.reconcile import SideInput, SmsRepairs, ZendeskRepairs
from core.telemetry import REPAIRS
from intake.door import Door

log = logging.getLogger(__name__)


class ReconcileActivities:
    def __init__(
        self, zendesk: ZendeskClient, twilio: TwilioClient, engine: Engine, door: Door
    ) -> None:
        self._zendesk = ZendeskSide(zendesk, engine, door)
        self._sms = SmsSide(twilio, engine, door)

    @activity.defn
    async def reconcile_zendesk(self, request: SideInput) -> ZendeskRepairs:
        repairs = await self._zendesk.reconcile(request)
        for kind in ("agent_comments", "status_changes", "opened", "resolved"):
            REPAIRS.labels(kind=kind).inc(len(getattr(repairs, kind)))
        log.info("reconcile, Zendesk side: %s", repairs.model_dump_json(exclude_defaults=True))
        return repairs

    @activity.defn
    async def reconcile_sms(self, request: SideInput) -> SmsRepairs:
        repairs = await self._sms.reconcile(request)
        REPAIRS.labels(kind="texts").inc(len(repairs.texts))
        log.info("reconcile, SMS side: %s", repairs.model_dump_json(exclude_defaults=True))
        return repairs

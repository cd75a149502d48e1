"""What the reconciler (B1, B10) is started with and what it reports.

Shared by the schedule and `starter.py reconcile` (which start it) and the workflow and its
activities (which run it), so the client side never imports workflow code.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

WORKFLOW_NAME = "Reconcile"
SCHEDULE_ID = "smsdesk-reconcile"


class ReconcileInput(BaseModel):
    #: Read from here instead of the saved cursors (`starter.py reconcile --since`).
    since: datetime | None = None
    #: Workflows read no environment: the Zendesk side runs on the rate-limited queue.
    zendesk_task_queue: str


class SideInput(BaseModel):
    since: datetime | None = None
    #: When the run was started (a scheduled run waits for a worker if none is up). With no
    #: saved cursor yet, a side reads from one interval before this, so a first run that
    #: waited out an outage still covers it.
    run_started_at: datetime


class ZendeskRepairs(BaseModel):
    """What the Zendesk side found missing and handed to its workflow."""

    read_from: datetime | None = None
    read_until: datetime | None = None
    events_read: int = 0
    #: Public agent comments on SMS tickets never texted: their comment ids.
    agent_comments: list[int] = Field(default_factory=list)
    #: SMS tickets whose conversation had missed a status change: their ids.
    status_changes: list[int] = Field(default_factory=list)
    #: Tickets whose Opened / Resolved Ticket event had never been started.
    opened: list[int] = Field(default_factory=list)
    resolved: list[int] = Field(default_factory=list)
    skipped: str | None = None

    @property
    def repaired(self) -> int:
        return len(self.agent_comments + self.status_changes + self.opened + self.resolved)


class SmsRepairs(BaseModel):
    """What the SMS provider side found missing and handed to its conversation."""

    read_from: datetime | None = None
    read_until: datetime | None = None
    messages_read: int = 0
    #: Inbound texts the product had never seen: their provider sids.
    texts: list[str] = Field(default_factory=list)
    #: Unseen texts from before SMS_SYNC_ENABLED_AT: never ticketed (M14), so left alone.
    before_sync: int = 0
    skipped: str | None = None


class ReconcileReport(BaseModel):
    zendesk: ZendeskRepairs
    sms: SmsRepairs

    def summary(self) -> str:
        z, s = self.zendesk, self.sms
        zendesk = z.skipped or (
            f"{z.events_read} ticket events read; repaired {len(z.agent_comments)} agent "
            f"replies {z.agent_comments}, {len(z.status_changes)} status changes "
            f"{z.status_changes}, {len(z.opened)} Opened Ticket {z.opened}, "
            f"{len(z.resolved)} Resolved Ticket {z.resolved}"
        )
        sms = s.skipped or (
            f"{s.messages_read} inbound texts read; repaired {len(s.texts)} {s.texts}"
            + (f", {s.before_sync} from before SMS sync left alone" if s.before_sync else "")
        )
        return f"Zendesk: {zendesk}. SMS: {sms}."

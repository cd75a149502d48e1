"""Task queue names derived from the settings, shared by the worker and the workflows."""

from __future__ import annotations


def zendesk_update_queue(zendesk_task_queue: str) -> str:
    """The queue of Zendesk writes that spend the update budget (Update Ticket, B14): its
    server-side rate limit keeps their backlog waiting in order on the Temporal server."""
    return f"{zendesk_task_queue}-updates"

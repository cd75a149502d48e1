"""Which Zendesk events become which metric (M15): created opens, closed resolves, solved
and everything else send nothing. Payloads as Zendesk sends them: string ids, upper case."""

from __future__ import annotations

from typing import Any

import pytest

from core.ticket_metrics import Metric
from webhooks.metrics import metric_of
from webhooks.zendesk_events import StatusChangedDetail, ZendeskEvent


def event(kind: str, body: dict[str, Any] | None = None) -> ZendeskEvent:
    return ZendeskEvent.model_validate(
        {
            "type": f"zen:event-type:ticket.{kind}",
            "id": "01HZX",
            "time": "2026-08-03T14:05:09Z",
            "detail": {"id": "1001", "status": "NEW", "brand_id": "360001", "via": {}},
            "event": body or {},
        }
    )


def metric(kind: str, body: dict[str, Any] | None = None) -> Metric | None:
    parsed = event(kind, body)
    change = StatusChangedDetail.model_validate(parsed.event) if kind == "status_changed" else None
    return metric_of(parsed, change)


def test_created_ticket_is_opened() -> None:
    assert metric("created") is Metric.OPENED


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        ("SOLVED", "CLOSED", Metric.RESOLVED),
        ("OPEN", "CLOSED", Metric.RESOLVED),
        ("OPEN", "SOLVED", None),  # solved is not resolved: Zendesk may still reopen it
        ("SOLVED", "OPEN", None),
        ("NEW", "PENDING", None),
    ],
)
def test_only_a_close_is_resolved(previous: str, current: str, expected: Metric | None) -> None:
    assert metric("status_changed", {"previous": previous, "current": current}) is expected


def test_comments_are_no_metric() -> None:
    comment = {"comment": {"id": "9", "body": "hi", "is_public": True, "author": {"id": "2"}}}
    assert metric("comment_added", comment) is None

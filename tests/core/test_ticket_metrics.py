"""M2's brand choice as a setting, and the ids that make each ticket event happen once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.settings import Settings
from core.ticket_metrics import (
    Metric,
    TicketMetricsInput,
    metric_unique_id,
    metrics_workflow_id,
    zendesk_account,
)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("all", None),
        (" ALL ", None),
        ("360001", frozenset({360001})),
        ("360001, 360002,", frozenset({360001, 360002})),
    ],
)
def test_metrics_brands_are_all_or_a_list_of_ids(raw: str, expected: frozenset[int] | None) -> None:
    assert settings(zendesk_metrics_brands=raw).metrics_brand_ids == expected


def test_metrics_brands_default_to_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENDESK_METRICS_BRANDS", raising=False)
    assert settings().metrics_brand_ids is None


@pytest.mark.parametrize("raw", ["Acme", "360001,acme", "0", "-5", "12.5", " , "])
def test_junk_brand_list_is_refused_naming_the_item(raw: str) -> None:
    with pytest.raises(ValidationError, match="ZENDESK_METRICS_BRANDS"):
        settings(zendesk_metrics_brands=raw)


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENDESK_METRICS_BRANDS", "360002")
    assert settings().metrics_brand_ids == {360002}


def test_workflow_input_carries_the_brand_choice_and_zendesk_queue() -> None:
    config = settings(
        zendesk_metrics_brands="360002,360001",
        zendesk_task_queue="zq",
        zendesk_url="https://acme.zendesk.com/",
    )
    request = TicketMetricsInput.for_event(
        ticket_id=1001,
        metric=Metric.RESOLVED,
        occurred_at=datetime(2026, 8, 3, tzinfo=UTC),
        event_id="01J",
        settings=config,
    )
    assert request.brand_ids == [360001, 360002]
    assert request.zendesk_task_queue == "zq"
    assert request.workflow_id == "ticket-metrics-acme.zendesk.com-1001-resolved"


def test_ids_differ_per_metric_and_repeat_per_ticket() -> None:
    assert metrics_workflow_id("acme.zendesk.com", 7, Metric.OPENED) == (
        "ticket-metrics-acme.zendesk.com-7-opened"
    )
    # Another account's ticket 7 is another workflow (ticket ids are per account).
    assert zendesk_account("http://127.0.0.1:8101") == "127.0.0.1:8101"
    assert metric_unique_id(7, Metric.OPENED) == "zendesk-7-opened"
    assert metric_unique_id(7, Metric.RESOLVED) == "zendesk-7-resolved"

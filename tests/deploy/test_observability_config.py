"""The Grafana dashboard and the Prometheus scrape config in deploy/ match what the product
serves: every smsdesk_* series a panel queries is one core/telemetry.py defines, and the
scrape targets are the ports docker-compose.yml gives the worker and the webhooks (read from
the Compose client's resolved model, tests/deploy/conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

import core.telemetry  # noqa: F401  (registers the product's metrics)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/smsdesk.json"
SCRAPE = ROOT / "deploy/prometheus/prometheus.yml"


def _product_series() -> set[str]:
    """Every series name the registry can serve (a counter is queried by its `_total`)."""
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_every_panel_queries_series_the_product_or_the_sdk_serves() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    named = {name for expr in exprs for name in re.findall(r"\b(smsdesk_[a-z_]+)", expr)}
    assert named, "the dashboard shows none of the product's own counters"
    unknown = named - _product_series()
    assert not unknown, f"dashboard queries series nothing serves: {sorted(unknown)}"
    assert any("temporal_" in expr for expr in exprs), "no panel of the SDK's own metrics"


def test_scrape_targets_are_the_ports_the_compose_file_opens(
    services: dict[str, dict[str, Any]],
) -> None:
    scrape = yaml.safe_load(SCRAPE.read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]
    }
    worker_env = services["worker"]["environment"]
    assert targets["smsdesk-worker"] == [f"worker:{worker_env['METRICS_PORT']}"]
    assert targets["smsdesk-webhooks"] == ["webhooks:8000"]
    sdk_port = worker_env["TEMPORAL_SDK_METRICS_BIND_ADDRESS"].rsplit(":", 1)[1]
    assert services["webhooks"]["environment"]["TEMPORAL_SDK_METRICS_BIND_ADDRESS"].endswith(
        f":{sdk_port}"
    )
    assert sorted(targets["temporal-sdk"]) == [f"webhooks:{sdk_port}", f"worker:{sdk_port}"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]

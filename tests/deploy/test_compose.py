"""docker-compose.yml as the Compose client resolves it (tests/deploy/conftest.py): services,
images, ports, start order, volumes, scaling and healthchecks, checked without a Docker engine."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.helpers.compose import COMPOSE_FILE, ROOT, ResolvedStack, compose_command
from tests.helpers.deploy_rules import assert_command_targets_exist, image_is_pinned, tokens

APP_SERVICES = ("worker", "webhooks")
EXPECTED_SERVICES = {
    "temporal-db",
    "temporal-schema",
    "temporal",
    "temporal-admin-tools",
    "temporal-ui",
    "product-db",
    "migrate",
    *APP_SERVICES,
}


def test_a_compose_client_is_installed() -> None:
    # Without one every test reading the stack errors at setup with the same message.
    assert compose_command()


def test_compose_file_has_no_obsolete_version_key() -> None:
    # A raw-file check: docker-compose 1.x adds `version:` to what `config` prints.
    assert "version" not in yaml.safe_load(COMPOSE_FILE.read_text())


def test_the_stack_has_the_expected_services(services: dict[str, dict[str, Any]]) -> None:
    missing = EXPECTED_SERVICES - set(services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_every_service_has_an_image_or_a_build(services: dict[str, dict[str, Any]]) -> None:
    without = [name for name, svc in services.items() if not (svc.get("image") or svc.get("build"))]
    assert not without, f"services with neither image nor build: {without}"


def test_every_pulled_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    pulled = {name: svc["image"] for name, svc in services.items() if not svc.get("build")}
    assert pulled, "no pulled image found"
    unpinned = {name: image for name, image in pulled.items() if not image_is_pinned(image)}
    assert not unpinned, f"images without a version tag or digest: {unpinned}"


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("postgres:16.4", True),
        ("temporalio/admin-tools:1.27.2-tctl-1.18.2-cli-1.3.0", True),
        ("postgres@sha256:" + "a" * 64, True),
        ("postgres", False),
        ("postgres:latest", False),
        ("postgres:16", False),
        ("registry.local:5000/postgres", False),
    ],
)
def test_the_pin_rule_itself(image: str, pinned: bool) -> None:
    assert image_is_pinned(image) is pinned


def test_no_two_services_publish_the_same_host_port(stack: ResolvedStack) -> None:
    owners: dict[tuple[int, str], str] = {}
    for name in stack.services:
        for port in stack.ports(name):
            key = (port.published, port.protocol)
            assert key not in owners, f"host port {key} published by {owners[key]} and {name}"
            owners[key] = name
    assert owners[(8000, "tcp")] == "webhooks"
    assert owners[(7233, "tcp")] == "temporal"
    assert owners[(8080, "tcp")] == "temporal-ui"


def test_only_the_webhooks_face_the_outside_world(stack: ResolvedStack) -> None:
    # Temporal, its UI, Prometheus and Grafana have no authentication: loopback only.
    public = {
        name
        for name in stack.services
        for port in stack.ports(name)
        if port.host_ip not in ("127.0.0.1", "::1")
    }
    assert public == {"webhooks"}


def test_depends_on_names_real_services_with_satisfiable_conditions(
    services: dict[str, dict[str, Any]],
) -> None:
    graph: dict[str, set[str]] = {}
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}  # the client prints the long form, with conditions
        graph[name] = set(deps)
        for dep, options in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            condition = options["condition"]
            target = services[dep]
            if condition == "service_healthy":
                check = target.get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert target.get("restart", "no") in ("no", "on-failure"), (
                    f"{name} waits for {dep} to complete, but {dep} restarts forever"
                )
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition}"

    # No cycles: Compose refuses to start a circular dependency.
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {name for name, deps in graph.items() if name not in done and deps <= done}
        assert ready, f"dependency cycle among {sorted(set(graph) - done)}"
        done |= ready


def test_worker_stops_with_a_signal_it_handles(services: dict[str, dict[str, Any]]) -> None:
    # worker.py shuts down gracefully on KeyboardInterrupt; SIGTERM would kill it mid-activity.
    worker = services["worker"]
    assert worker.get("stop_signal") == "SIGINT"
    assert worker.get("init") is True, (
        "without an init, PID 1 ignores signals it has no handler for"
    )


def test_app_services_wait_for_temporal_search_attributes_and_database(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in APP_SERVICES:
        deps = services[name].get("depends_on") or {}
        assert {"temporal", "product-db", "temporal-admin-tools", "migrate"} <= set(deps), name
        assert deps["temporal-admin-tools"]["condition"] == "service_completed_successfully"
        assert deps["product-db"]["condition"] == "service_healthy"
        # The schema is migrated once, before either starts (no process creates tables).
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_runs_the_product_command_on_the_product_database(stack: ResolvedStack) -> None:
    migrate = stack.services["migrate"]
    assert tokens(migrate["command"]) == ["python", "starter.py", "migrate"]
    assert_command_targets_exist(tokens(migrate["command"]), "migrate.command")
    assert "@product-db:5432/smsdesk" in stack.environment("migrate")["DATABASE_URL"]
    assert migrate["depends_on"]["product-db"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"


def test_volumes_are_declared_and_bind_mounts_exist(stack: ResolvedStack) -> None:
    declared = set(stack.model.get("volumes") or {})
    for name in stack.services:
        for mount in stack.mounts(name):
            if mount.bind:
                path = stack.repo_path(mount.source)
                assert path.exists(), f"{name}: bind mount source {path} is missing"
                assert path.is_relative_to(ROOT), f"{name}: {path} is outside the repository"
            elif mount.source:
                assert mount.source in declared, f"{name}: volume {mount.source!r} not declared"
    for database in ("temporal-db", "product-db"):
        targets = {mount.target for mount in stack.mounts(database) if mount.source in declared}
        assert "/var/lib/postgresql/data" in targets, f"{database} keeps its data in no volume"


def test_worker_can_be_scaled(stack: ResolvedStack) -> None:
    worker = stack.services["worker"]
    # `docker compose up --scale worker=3` fails with a fixed name or a published host port.
    assert "container_name" not in worker
    assert not stack.ports("worker")
    assert worker.get("build"), "the worker is built from this repository"


def test_databases_have_a_pg_isready_healthcheck(stack: ResolvedStack) -> None:
    for name in ("temporal-db", "product-db"):
        svc = stack.services[name]
        assert image_is_pinned(svc["image"]) and svc["image"].startswith("postgres:16.")
        test = " ".join(tokens(svc["healthcheck"]["test"]))
        assert "pg_isready" in test, name
        user = stack.environment(name)["POSTGRES_USER"]
        assert f"-U {user}" in test, f"{name}: healthcheck does not use {user}"


def test_webhooks_healthcheck_calls_healthz_without_curl(
    services: dict[str, dict[str, Any]],
) -> None:
    test = tokens(services["webhooks"]["healthcheck"]["test"])
    joined = " ".join(test)
    assert "/healthz" in joined
    assert "curl" not in joined and "wget" not in joined, "python:slim has neither curl nor wget"
    assert test[0] == "CMD" and test[1].startswith("python")

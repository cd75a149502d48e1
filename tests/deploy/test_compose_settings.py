"""Secrets and settings of the stack: every secret a container sees comes from .env, the
stack refuses to start without its passwords, and what the app containers get from .env and
docker-compose.yml is a valid `Settings` pointing at the stack's own services."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dotenv import dotenv_values

from tests.helpers.compose import ENV_EXAMPLE, ResolvedStack, resolve, run_compose, stack_copy

APP_SERVICES = ("worker", "webhooks")
# Variables of .env.example that only docker-compose.yml reads (not product settings).
STACK_ONLY_VARIABLES = {
    "COMPOSE_PROJECT_NAME",
    "TEMPORAL_DB_PASSWORD",
    "PRODUCT_DB_PASSWORD",
    "WEBHOOKS_FORWARDED_ALLOW_IPS",
}
# The secrets docker-compose.yml interpolates into other variables; each is `${VAR:?message}`.
REQUIRED_SECRETS = {"TEMPORAL_DB_PASSWORD", "PRODUCT_DB_PASSWORD"}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY|HASH_KEY")
# .env.example's convention for a setting shown at its default: `#NAME=value`.
COMMENTED_SETTING = re.compile(r"^#([A-Z][A-Z0-9_]*)=", flags=re.MULTILINE)
# Lowercase and URL-safe: a valid project name and a valid password inside a database URL.
MARKER = re.compile(r"from-env-([a-z0-9_]+)")


def _example() -> dict[str, str]:
    return {name: value or "" for name, value in dotenv_values(ENV_EXAMPLE).items()}


def _setting_names() -> set[str]:
    from core.settings import Settings

    return {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def marked_stack(tmp_path_factory: pytest.TempPathFactory) -> ResolvedStack:
    """The stack with a .env whose every value names its variable: `NAME=from-env-name`."""
    env_text = "".join(f"{name}=from-env-{name.lower()}\n" for name in _example())
    return resolve(stack_copy(tmp_path_factory.mktemp("marked"), env_text))


def _source_of(value: str) -> str | None:
    """The .env variable that `value` came from, if it is a marker."""
    match = MARKER.fullmatch(value)
    return match.group(1).upper() if match else None


def test_every_secret_a_container_sees_comes_from_env(marked_stack: ResolvedStack) -> None:
    interpolated = set()
    for name in marked_stack.services:
        for key, value in marked_stack.environment(name).items():
            if SECRET_NAME.search(key):
                source = _source_of(value)
                assert source, (
                    f"{name}.{key} is written into docker-compose.yml, not read from .env"
                )
                if source != key:
                    interpolated.add(source)
            if "://" in value and "@" in value:  # credentials inside a URL
                password = urlsplit(value).password
                if password:
                    source = _source_of(password)
                    assert source, f"{name}.{key}: the URL's password is not read from .env"
                    interpolated.add(source)
    # A secret passed whole by env_file keeps its name; one interpolated into another variable
    # must be required, which the test below proves for each of REQUIRED_SECRETS.
    assert interpolated == REQUIRED_SECRETS


@pytest.mark.parametrize("variable", sorted(REQUIRED_SECRETS))
def test_compose_client_refuses_to_run_without_a_database_password(
    variable: str, tmp_path: Path
) -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    env_text = "\n".join(line for line in lines if not line.startswith(f"{variable}="))
    result = run_compose(stack_copy(tmp_path, env_text), "config", "-q")
    assert result.returncode != 0
    assert variable in result.stdout + result.stderr


def test_env_example_gives_every_variable_the_compose_file_needs(stack: ResolvedStack) -> None:
    # The client resolved the stack with .env.example as .env (so every `${VAR:?}` had a
    # value) and would have warned of a `${VAR}` without a default that it lacks.
    assert "variable is not set" not in stack.warnings, stack.warnings


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    settings = _setting_names()
    listed = set(_example()) | set(COMMENTED_SETTING.findall(ENV_EXAMPLE.read_text()))
    assert not settings - listed, f"settings missing from .env.example: {sorted(settings - listed)}"
    unknown = listed - settings - STACK_ONLY_VARIABLES
    assert not unknown, f".env.example names no setting: {sorted(unknown)}"


def test_env_example_is_accepted_by_the_settings_class(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    for name in _setting_names():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert settings.temporal_namespace == _example()["TEMPORAL_NAMESPACE"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_service_environment_names_are_real_settings(
    stack: ResolvedStack, service: str
) -> None:
    names = set(stack.environment(service))
    assert {"TEMPORAL_ADDRESS", "DATABASE_URL"} <= names
    assert set(_example()) <= names, f"{service} does not read its settings from .env"
    unknown = names - _setting_names() - STACK_ONLY_VARIABLES
    assert not unknown, f"{service} sets variables that are no setting: {sorted(unknown)}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_container_environment_builds_valid_settings(
    stack: ResolvedStack, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the container would see after `cp .env.example .env`: env_file, then environment."""
    from core.settings import Settings

    for name in _setting_names():
        monkeypatch.delenv(name, raising=False)
    for key, value in stack.environment(service).items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    temporal_host, _, temporal_port = settings.temporal_address.partition(":")
    assert temporal_host in stack.services and temporal_port == "7233"
    assert stack.services[temporal_host]["image"].startswith("temporalio/server:")

    url = urlsplit(settings.database_url)
    assert url.scheme == "postgresql+psycopg", "psycopg 3 is the installed driver"
    assert url.hostname in stack.services and url.port == 5432
    db_env = stack.environment(url.hostname)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]

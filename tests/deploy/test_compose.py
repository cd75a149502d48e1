"""Checks of the Docker stack that need no Docker engine.

docker-compose.yml, Dockerfile, .dockerignore, .env.example and deploy/ are read as data and
compared with the repository and with the real settings class; the search-attribute script runs
against a stand-in `temporal` CLI; `docker compose config` validates the file when a Compose
client is installed (it needs no engine for that).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

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
SEARCH_ATTRIBUTES = {
    "CustomerPhone": "Keyword",
    "SenderNumber": "Keyword",
    "ZendeskTicketId": "Int",
    "ConversationStatus": "Keyword",
}
# Variables of .env.example that only docker-compose.yml reads (not product settings).
STACK_ONLY_VARIABLES = {
    "COMPOSE_PROJECT_NAME",
    "TEMPORAL_DB_PASSWORD",
    "PRODUCT_DB_PASSWORD",
    "WEBHOOKS_FORWARDED_ALLOW_IPS",
}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY|HASH_KEY")
TEMPORAL_HOME = PurePosixPath("/etc/temporal")


# --- helpers --------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _setting_names() -> set[str]:
    # Written by the product; an ImportError here means core/settings.py is missing.
    from core.settings import Settings

    return {name.upper() for name in Settings.model_fields}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _read_env_file(path: Path, *, include_commented: bool = False) -> dict[str, str]:
    """KEY=VALUE lines the way Compose reads an env file; `#KEY=value` lines too when asked."""
    values: dict[str, str] = {}
    pattern = re.compile(r"^(#)?([A-Z][A-Z0-9_]*)=(.*)$")
    for line in path.read_text().splitlines():
        match = pattern.match(line.strip())
        if match and (include_commented or not match.group(1)):
            values[match.group(2)] = match.group(3)
    return values


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style `${VAR}`, `${VAR:-default}`, `${VAR:?message}`."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        value = env.get(name)
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and value == ""):
                return argument
        if operator in (":?", "?") and (value is None or (operator == ":?" and value == "")):
            raise LookupError(f"{name}: {argument}")
        return value or ""

    return _INTERPOLATION.sub(replace, text.replace("$$", "\0")).replace("\0", "$")


def _tokens(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def _host_ports(service: dict[str, Any]) -> list[tuple[int, str]]:
    """(host port, protocol) for every published port of a service."""
    published: list[tuple[int, str]] = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                published.append((int(port["published"]), port.get("protocol", "tcp")))
            continue
        spec, _, protocol = str(port).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) == 1:  # container port only: Docker picks an ephemeral host port
            continue
        host = parts[-2]
        first, _, last = host.partition("-")
        for number in range(int(first), int(last or first) + 1):
            published.append((number, protocol or "tcp"))
    return published


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of every volume entry of a service."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((str(volume.get("source", "")), str(volume["target"])))
        else:
            parts = str(volume).split(":")
            if len(parts) == 1:
                mounts.append(("", parts[0]))
            else:
                mounts.append((parts[0], parts[1]))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _repo_path_for(service: dict[str, Any], container_path: PurePosixPath) -> Path | None:
    """The repository file that a bind mount of the service shows at `container_path`."""
    for source, target in _mounts(service):
        if not _is_bind(source):
            continue
        target_path = PurePosixPath(target)
        if container_path == target_path or target_path in container_path.parents:
            return (ROOT / source / container_path.relative_to(target_path)).resolve()
    return None


def _image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return re.fullmatch(r".+@sha256:[0-9a-f]{64}", image) is not None
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (the colon belonged to a registry port)
        return False
    # A version with at least major.minor: not `latest`, not a moving major such as `16`.
    return tag != "latest" and re.match(r"^v?\d+\.\d+", tag) is not None


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _module_file_exists(module: str) -> bool:
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _assert_command_targets_exist(tokens: list[str], where: str) -> None:
    """`python x.py` must name a repo file, `uvicorn pkg.mod:app` a repo module."""
    assert tokens, f"{where}: no command"
    program = PurePosixPath(tokens[0]).name
    if program.startswith("python"):
        scripts = [token for token in tokens[1:] if token.endswith(".py")]
        modules = [tokens[i + 1] for i, token in enumerate(tokens[:-1]) if token == "-m"]
        assert scripts or modules, f"{where}: python runs neither a script nor a module"
        for script in scripts:
            assert (ROOT / script).is_file(), f"{where}: {script} does not exist in the repo"
        for module in modules:
            assert _module_file_exists(module), f"{where}: module {module} is not in the repo"
    elif program == "uvicorn":
        apps = [token for token in tokens[1:] if re.fullmatch(r"[\w.]+:\w+", token)]
        assert len(apps) == 1, f"{where}: uvicorn needs one module:attribute, got {apps}"
        module = apps[0].split(":")[0]
        assert _module_file_exists(module), f"{where}: module {module} is not in the repo"
    else:
        pytest.fail(f"{where}: unexpected program {tokens[0]!r}")


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a matched directory takes its contents."""
    parts = path.split("/")
    ignored = False
    for raw in patterns:
        negated = raw.startswith("!")
        regex = _dockerignore_regex(raw.lstrip("!").strip().strip("/"))
        if any(regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def _dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# --- docker-compose.yml: structure --------------------------------------------------------


def test_compose_file_parses_into_the_expected_services(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose spec has no `version:` key (obsolete)"
    assert isinstance(compose.get("services"), dict)
    missing = EXPECTED_SERVICES - set(compose["services"])
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_every_service_has_an_image_or_a_build(services: dict[str, dict[str, Any]]) -> None:
    without = [name for name, svc in services.items() if not (svc.get("image") or svc.get("build"))]
    assert not without, f"services with neither image nor build: {without}"


def test_every_pulled_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    pulled = {name: svc["image"] for name, svc in services.items() if not svc.get("build")}
    assert pulled, "no pulled image found"
    unpinned = {name: image for name, image in pulled.items() if not _image_is_pinned(image)}
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
    assert _image_is_pinned(image) is pinned


def test_no_two_services_publish_the_same_host_port(services: dict[str, dict[str, Any]]) -> None:
    owners: dict[tuple[int, str], str] = {}
    for name, svc in services.items():
        for port in _host_ports(svc):
            assert port not in owners, f"host port {port} published by {owners[port]} and {name}"
            owners[port] = name
    assert (8000, "tcp") in owners and owners[(8000, "tcp")] == "webhooks"
    assert (7233, "tcp") in owners and owners[(7233, "tcp")] == "temporal"
    assert (8080, "tcp") in owners and owners[(8080, "tcp")] == "temporal-ui"


def test_depends_on_names_real_services_with_satisfiable_conditions(
    services: dict[str, dict[str, Any]],
) -> None:
    graph: dict[str, set[str]] = {}
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {dep: {"condition": "service_started"} for dep in deps}
        graph[name] = set(deps)
        for dep, options in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep!r}"
            condition = (options or {}).get("condition", "service_started")
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


def test_migrate_runs_the_product_command_on_the_product_database(
    services: dict[str, dict[str, Any]],
) -> None:
    migrate = services["migrate"]
    assert _tokens(migrate["command"]) == ["python", "starter.py", "migrate"]
    _assert_command_targets_exist(_tokens(migrate["command"]), "migrate.command")
    assert "product-db:5432/smsdesk" in migrate["environment"]["DATABASE_URL"]
    assert migrate["depends_on"]["product-db"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"


def test_volumes_are_declared_and_bind_mounts_exist(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source, _target in _mounts(svc):
            if not source:
                continue
            if _is_bind(source):
                assert (ROOT / source).exists(), f"{name}: bind mount source {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source!r} is not declared"
    for database in ("temporal-db", "product-db"):
        targets = {target for source, target in _mounts(services[database]) if source in declared}
        assert "/var/lib/postgresql/data" in targets, f"{database} keeps its data in no volume"


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    # `docker compose up --scale worker=3` fails with a fixed name or a published host port.
    assert "container_name" not in worker
    assert not _host_ports(worker)
    assert worker.get("build"), "the worker is built from this repository"


def test_databases_have_a_pg_isready_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name in ("temporal-db", "product-db"):
        svc = services[name]
        assert _image_is_pinned(svc["image"]) and svc["image"].startswith("postgres:16.")
        test = " ".join(_tokens(svc["healthcheck"]["test"]))
        assert "pg_isready" in test, name
        user = _environment(svc)["POSTGRES_USER"]
        assert f"-U {user}" in test, f"{name}: healthcheck does not use {user}"


def test_webhooks_healthcheck_calls_healthz_without_curl(
    services: dict[str, dict[str, Any]],
) -> None:
    test = _tokens(services["webhooks"]["healthcheck"]["test"])
    joined = " ".join(test)
    assert "/healthz" in joined
    assert "curl" not in joined and "wget" not in joined, "python:slim has neither curl nor wget"
    assert test[0] == "CMD" and test[1].startswith("python")


# --- docker-compose.yml: secrets and settings ---------------------------------------------


def test_no_secret_is_written_into_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for key, value in _environment(svc).items():
            if SECRET_NAME.search(key):
                assert value.startswith("${") and ":?" in value, (
                    f"{name}.{key} must come from .env as a required ${{VAR:?message}}"
                )
        for key, value in _environment(svc).items():
            if "://" in value and "@" in value:  # credentials inside a URL
                userinfo = urlsplit(value).netloc.rpartition("@")[0]
                password = userinfo.partition(":")[2]
                assert not password or password.startswith("${"), f"{name}.{key}"


def _strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [text for key, value in data.items() for text in _strings(key) + _strings(value)]
    if isinstance(data, list):
        return [text for item in data for text in _strings(item)]
    return [data] if isinstance(data, str) else []


def test_every_required_variable_of_the_compose_file_is_in_env_example(
    compose: dict[str, Any],
) -> None:
    example = _read_env_file(ENV_EXAMPLE)
    references = [ref for text in _strings(compose) for ref in _INTERPOLATION.findall(text)]
    assert references, "docker-compose.yml interpolates nothing from .env"
    for name, operator, _argument in references:
        if operator in (":-", "-"):
            continue
        assert example.get(name), f"${{{name}}} has no default and no value in .env.example"


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    settings = _setting_names()
    listed = set(_read_env_file(ENV_EXAMPLE, include_commented=True))
    assert not settings - listed, f"settings missing from .env.example: {sorted(settings - listed)}"
    unknown = listed - settings - STACK_ONLY_VARIABLES
    assert not unknown, f".env.example names no setting: {sorted(unknown)}"


def test_env_example_is_accepted_by_the_settings_class(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    for name in _setting_names():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert settings.temporal_namespace == _read_env_file(ENV_EXAMPLE)["TEMPORAL_NAMESPACE"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_service_environment_names_are_real_settings(
    services: dict[str, dict[str, Any]], service: str
) -> None:
    names = set(_environment(services[service]))
    assert {"TEMPORAL_ADDRESS", "DATABASE_URL"} <= names
    unknown = names - _setting_names()
    assert not unknown, f"{service} sets variables that are no setting: {sorted(unknown)}"
    env_files = services[service].get("env_file")
    env_files = [env_files] if isinstance(env_files, str) else env_files or []
    paths = [entry["path"] if isinstance(entry, dict) else entry for entry in env_files]
    assert ".env" in paths, f"{service} does not read its settings from .env"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_container_environment_builds_valid_settings(
    services: dict[str, dict[str, Any]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the container would see after `cp .env.example .env`: env_file, then environment."""
    from core.settings import Settings

    example = _read_env_file(ENV_EXAMPLE)
    container_env = dict(example)
    for key, value in _environment(services[service]).items():
        container_env[key] = _interpolate(value, example)
    for name in _setting_names():
        monkeypatch.delenv(name, raising=False)
    for key, value in container_env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    temporal_host, _, temporal_port = settings.temporal_address.partition(":")
    assert temporal_host in services and temporal_port == "7233"
    assert services[temporal_host]["image"].startswith("temporalio/server:")

    url = urlsplit(settings.database_url)
    assert url.scheme == "postgresql+psycopg", "psycopg 3 is the installed driver"
    assert url.hostname in services and url.port == 5432
    db_env = {k: _interpolate(v, example) for k, v in _environment(services[url.hostname]).items()}
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]


# --- Temporal -----------------------------------------------------------------------------


def test_temporal_server_runs_on_the_schema_set_up_before_it(
    services: dict[str, dict[str, Any]],
) -> None:
    # temporalio/auto-setup is deprecated: the server image, with the schema made by the
    # admin tools in a one-shot service first (as in temporalio/samples-server).
    temporal, schema = services["temporal"], services["temporal-schema"]
    env, schema_env = _environment(temporal), _environment(schema)
    assert temporal["image"].startswith("temporalio/server:")
    assert schema["image"].startswith("temporalio/admin-tools:")
    assert schema["image"].split(":")[1] == temporal["image"].split(":")[1], "same release"
    assert (
        temporal["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    )
    assert env["DB"] == "postgres12" and env["DB_PORT"] == "5432"
    assert env["BIND_ON_IP"] == "0.0.0.0"
    database = services[env["POSTGRES_SEEDS"]]
    db_env = _environment(database)
    assert database["image"].startswith("postgres:")
    assert env["POSTGRES_USER"] == db_env["POSTGRES_USER"] == schema_env["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == db_env["POSTGRES_PASSWORD"], "same ${VAR} for both sides"
    assert schema_env["SQL_PASSWORD"] == db_env["POSTGRES_PASSWORD"]
    assert schema_env["POSTGRES_SEEDS"] == env["POSTGRES_SEEDS"]
    assert temporal["depends_on"][env["POSTGRES_SEEDS"]]["condition"] == "service_healthy"
    assert schema["depends_on"][env["POSTGRES_SEEDS"]]["condition"] == "service_healthy"


FAKE_SQL_TOOL = r"""#!/bin/sh
# Stand-in for temporal-sql-tool: logs every call; `create` fails when FAKE_EXISTS is set.
echo "$*" >> "$FAKE_DIR/calls"
case "$*" in
  *" create") [ -z "${FAKE_EXISTS:-}" ] || { echo "database exists" >&2; exit 1; } ;;
  *" setup-schema -v 0.0") [ -z "${FAKE_EXISTS:-}" ] || exit 1 ;;
esac
exit 0
"""


def _run_schema_setup(
    services: dict[str, dict[str, Any]], tmp_path: Path, **fake: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    schema = services["temporal-schema"]
    tokens = _tokens(schema.get("entrypoint")) + _tokens(schema.get("command"))
    [script] = [token for token in tokens if token.endswith(".sh")]
    repo_file = _repo_path_for(schema, PurePosixPath(script))
    assert repo_file is not None and repo_file.is_file(), f"{script} is not mounted from repo"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("temporal-sql-tool", FAKE_SQL_TOOL), ("nc", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_DIR": str(tmp_path),
        **{k: v for k, v in _environment(schema).items() if "$" not in v},
        "SQL_PASSWORD": "secret",
        **fake,
    }
    result = subprocess.run(["sh", str(repo_file)], env=env, capture_output=True, text=True)
    calls_file = tmp_path / "calls"
    return result, calls_file.read_text().splitlines() if calls_file.exists() else []


def test_schema_setup_creates_and_migrates_both_databases(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, calls = _run_schema_setup(services, tmp_path)
    assert result.returncode == 0, result.stderr
    for database, schema in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        prefix = f"--plugin postgres12 --ep temporal-db -u temporal -p 5432 --db {database}"
        assert f"{prefix} create" in calls
        assert f"{prefix} setup-schema -v 0.0" in calls
        assert (
            f"{prefix} update-schema -d /etc/temporal/schema/postgresql/v12/{schema}/versioned"
            in calls
        )


def test_schema_setup_runs_again_on_existing_databases(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, calls = _run_schema_setup(services, tmp_path, FAKE_EXISTS="1")
    assert result.returncode == 0, result.stderr  # a second `docker compose up` still works
    assert sum("update-schema" in call for call in calls) == 2


def test_dynamic_config_file_is_mounted_and_valid(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    configured = PurePosixPath(_environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"])
    in_container = configured if configured.is_absolute() else TEMPORAL_HOME / configured
    repo_file = _repo_path_for(temporal, in_container)
    assert repo_file is not None, f"no bind mount provides {in_container}"
    assert repo_file.is_file(), f"{repo_file} does not exist"
    assert repo_file.is_relative_to(ROOT / "deploy")
    config = yaml.safe_load(repo_file.read_text())
    assert isinstance(config, dict) and config
    for key, entries in config.items():
        assert isinstance(entries, list) and entries, key
        for entry in entries:
            assert isinstance(entry, dict) and "value" in entry, key
            assert isinstance(entry.get("constraints", {}), dict), key


def test_ui_and_admin_tools_talk_to_the_temporal_service(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("temporal-ui", "temporal-admin-tools"):
        assert _environment(services[name])["TEMPORAL_ADDRESS"] == "temporal:7233", name
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")
    tag = services["temporal"]["image"].split(":")[1]
    assert services["temporal-admin-tools"]["image"].split(":")[1].startswith(tag), (
        "admin-tools should match the server version"
    )


def _registration_script(services: dict[str, dict[str, Any]]) -> Path:
    admin = services["temporal-admin-tools"]
    tokens = _tokens(admin.get("entrypoint")) + _tokens(admin.get("command"))
    scripts = [token for token in tokens if token.endswith(".sh")]
    assert len(scripts) == 1, f"admin-tools should run one script, runs {tokens}"
    repo_file = _repo_path_for(admin, PurePosixPath(scripts[0]))
    assert repo_file is not None and repo_file.is_file(), f"{scripts[0]} is not mounted from repo"
    return repo_file


def test_admin_tools_command_registers_the_four_search_attributes(
    services: dict[str, dict[str, Any]],
) -> None:
    admin = services["temporal-admin-tools"]
    # The image's own entrypoint is `sleep infinity`: without an override nothing would run.
    assert admin.get("entrypoint"), "admin-tools needs an entrypoint override"
    script = _registration_script(services).read_text()
    assert "temporal operator search-attribute create" in script
    assert "temporal operator cluster health" in script, "must wait for Temporal"
    registered = dict(re.findall(r"^register (\w+) (\w+)$", script, flags=re.MULTILINE))
    assert registered == SEARCH_ATTRIBUTES


def test_registered_attributes_are_the_ones_the_workflows_use(
    services: dict[str, dict[str, Any]],
) -> None:
    from workflows.search import DEV_SERVER_ARGS  # the product's own list (dev server)

    script = _registration_script(services).read_text()
    registered = dict(re.findall(r"^register (\w+) (\w+)$", script, flags=re.MULTILINE))
    assert registered == DEV_SERVER_ARGS


FAKE_TEMPORAL = r"""#!/bin/sh
# Stand-in for the Temporal CLI: logs every call, answers from files in $FAKE_DIR.
echo "$*" >> "$FAKE_DIR/calls"
count() {
  n=$(cat "$FAKE_DIR/$1" 2>/dev/null || echo 0)
  n=$((n + 1))
  echo "$n" > "$FAKE_DIR/$1"
  echo "$n"
}
case "$1 $2 $3" in
  "operator cluster health")
    if [ "$(count health)" -le "${FAKE_NOT_SERVING_TIMES:-0}" ]; then echo NOT_SERVING; exit 1; fi
    echo SERVING ;;
  "operator search-attribute list")
    if [ "$(count list)" -le "${FAKE_NO_NAMESPACE_TIMES:-0}" ]; then exit 1; fi
    printf 'Name  Type\nCustomerPhone  Keyword\nBuildIds  KeywordList\n' ;;
  "operator search-attribute create")
    exit "${FAKE_CREATE_EXIT:-0}" ;;
  "operator namespace describe")
    if [ -n "${FAKE_NAMESPACE_MISSING:-}" ]; then exit 1; fi ;;
  "operator namespace create")
    exit 0 ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def _run_registration(
    services: dict[str, dict[str, Any]], tmp_path: Path, **fake: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    sh = shutil.which("sh")
    assert sh is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli = bin_dir / "temporal"
    cli.write_text(FAKE_TEMPORAL)
    cli.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_DIR": str(tmp_path),
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "smsdesk-ns",
        "POLL_SECONDS": "0",
        "WAIT_SECONDS": "30",
        **fake,
    }
    result = subprocess.run(
        [sh, str(_registration_script(services))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls_file = tmp_path / "calls"
    calls = calls_file.read_text().splitlines() if calls_file.exists() else []
    return result, calls


def test_registration_waits_then_creates_only_missing_attributes(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, calls = _run_registration(
        services, tmp_path, FAKE_NOT_SERVING_TIMES="2", FAKE_NO_NAMESPACE_TIMES="1"
    )
    assert result.returncode == 0, result.stderr
    assert sum("cluster health" in call for call in calls) == 3
    creates = [call.split() for call in calls if "search-attribute create" in call]
    created = {}
    for args in creates:
        assert args[args.index("--namespace") + 1] == "smsdesk-ns"
        assert args[args.index("--address") + 1] == "temporal:7233"
        created[args[args.index("--name") + 1]] = args[args.index("--type") + 1]
    expected = {k: v for k, v in SEARCH_ATTRIBUTES.items() if k != "CustomerPhone"}
    assert created == expected, "already registered CustomerPhone must be left alone"


def test_a_missing_namespace_is_created_once_before_registration(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, calls = _run_registration(services, tmp_path, FAKE_NAMESPACE_MISSING="1")
    assert result.returncode == 0, result.stderr
    [create] = [call.split() for call in calls if "namespace create" in call]
    assert create[create.index("--namespace") + 1] == "smsdesk-ns"
    assert create[create.index("--retention") + 1] == "72h"
    first_attribute = next(i for i, c in enumerate(calls) if "search-attribute create" in c)
    assert calls.index(" ".join(create)) < first_attribute

    fresh = tmp_path / "again"
    fresh.mkdir()
    result, calls = _run_registration(services, fresh)
    assert result.returncode == 0 and not any("namespace create" in c for c in calls)


def test_registration_gives_up_when_temporal_never_serves(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, calls = _run_registration(
        services, tmp_path, FAKE_NOT_SERVING_TIMES="1000000", WAIT_SECONDS="0"
    )
    assert result.returncode != 0
    assert not any("create" in call for call in calls)


def test_registration_fails_loudly_when_a_create_fails(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    result, _calls = _run_registration(services, tmp_path, FAKE_CREATE_EXIT="1")
    assert result.returncode != 0


def test_registration_script_is_valid_posix_sh(services: dict[str, dict[str, Any]]) -> None:
    # admin-tools is Alpine: the script must not need bash.
    result = subprocess.run(["sh", "-n", str(_registration_script(services))], capture_output=True)
    assert result.returncode == 0, result.stderr


# --- Dockerfile and .dockerignore ---------------------------------------------------------


def test_dockerfile_base_image_is_a_pinned_python_311_slim() -> None:
    bases = [rest.split()[0] for keyword, rest in _dockerfile_instructions() if keyword == "FROM"]
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        assert _image_is_pinned(base), base
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", bases[-1])


def test_dockerfile_installs_the_project_and_runs_as_non_root() -> None:
    instructions = _dockerfile_instructions()
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert "pip install --no-cache-dir -r requirements/runtime.lock" in runs, "not the lock"
    assert re.search(r"pip install --no-cache-dir --no-deps \.(\s|$)", runs), "pip install ."
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    users = [rest for keyword, rest in instructions[last_from:] if keyword == "USER"]
    assert users, "the final image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_cmd_and_compose_commands_name_files_in_the_repo(
    services: dict[str, dict[str, Any]],
) -> None:
    cmds = [rest for keyword, rest in _dockerfile_instructions() if keyword == "CMD"]
    assert cmds, "Dockerfile has no CMD"
    cmd = cmds[-1]
    tokens = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    assert tokens == ["python", "worker.py"], "the image's default role is the worker"
    _assert_command_targets_exist(tokens, "Dockerfile CMD")
    for name in APP_SERVICES:
        command = _tokens(services[name].get("command"))
        _assert_command_targets_exist(command, f"{name}.command")
    webhooks = _tokens(services["webhooks"]["command"])
    assert "webapp:app" in webhooks and "--proxy-headers" in webhooks
    assert webhooks[webhooks.index("--port") + 1] == "8000"
    assert webhooks[webhooks.index("--host") + 1] == "0.0.0.0"


def test_dockerignore_keeps_secrets_and_local_state_out_but_the_code_in() -> None:
    patterns = _dockerignore_patterns()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        ".env.production",
        ".smsdesk/smsdesk.db",
        "core/__pycache__/settings.cpython-311.pyc",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
    ):
        assert _dockerignored(path, patterns), f"{path} would be sent into the image"
    for path in (
        "pyproject.toml",
        "README.md",
        "worker.py",
        "starter.py",
        "core/settings.py",
        "webhooks/app.py",
        "workflows/conversation.py",
        "sandbox/__init__.py",
    ):
        assert not _dockerignored(path, patterns), f"{path} is needed by `pip install .`"


@pytest.mark.parametrize(
    ("path", "patterns", "ignored"),
    [
        ("a/__pycache__/x.pyc", ["**/__pycache__"], True),
        ("__pycache__/x.pyc", ["**/__pycache__"], True),
        ("x.env", [".env"], False),
        ("README.md", ["*.md", "!README.md"], False),
        ("docs/a.md", ["*.md"], False),
    ],
)
def test_the_dockerignore_rule_itself(path: str, patterns: list[str], ignored: bool) -> None:
    assert _dockerignored(path, patterns) is ignored


# --- a real Compose client, when there is one ---------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _stack_copy(tmp_path: Path, env_text: str) -> Path:
    """The stack files in a scratch directory, so a developer's own .env is never touched."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(DOCKERFILE, tmp_path / "Dockerfile")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / ".env").write_text(env_text)
    return tmp_path


def test_compose_client_validates_the_file(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose client (docker compose / docker-compose) installed")
    project = _stack_copy(tmp_path, ENV_EXAMPLE.read_text())
    result = subprocess.run(
        [*command, "-f", str(project / "docker-compose.yml"), "config", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_client_refuses_to_run_without_the_database_password(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose client (docker compose / docker-compose) installed")
    env_text = "\n".join(
        line
        for line in ENV_EXAMPLE.read_text().splitlines()
        if not line.startswith("TEMPORAL_DB_PASSWORD=")
    )
    project = _stack_copy(tmp_path, env_text)
    result = subprocess.run(
        [*command, "-f", str(project / "docker-compose.yml"), "config", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "TEMPORAL_DB_PASSWORD" in result.stdout + result.stderr

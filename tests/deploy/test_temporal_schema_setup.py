"""The Temporal server of the stack runs on schemas a one-shot admin-tools service sets up
first; deploy/temporal/setup-postgres-schema.sh runs here against a stand-in
temporal-sql-tool, and the server's dynamic config is the mounted repository file."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import yaml

from tests.helpers.compose import ROOT, ResolvedStack
from tests.helpers.deploy_rules import tokens

TEMPORAL_HOME = PurePosixPath("/etc/temporal")


def test_temporal_server_runs_on_the_schema_set_up_before_it(stack: ResolvedStack) -> None:
    # temporalio/auto-setup is deprecated: the server image, with the schema made by the
    # admin tools in a one-shot service first (as in temporalio/samples-server).
    temporal, schema = stack.services["temporal"], stack.services["temporal-schema"]
    env, schema_env = stack.environment("temporal"), stack.environment("temporal-schema")
    assert temporal["image"].startswith("temporalio/server:")
    assert schema["image"].startswith("temporalio/admin-tools:")
    assert schema["image"].split(":")[1] == temporal["image"].split(":")[1], "same release"
    assert (
        temporal["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    )
    assert env["DB"] == "postgres12" and env["DB_PORT"] == "5432"
    assert env["BIND_ON_IP"] == "0.0.0.0"
    database = stack.services[env["POSTGRES_SEEDS"]]
    db_env = stack.environment(env["POSTGRES_SEEDS"])
    assert database["image"].startswith("postgres:")
    assert env["POSTGRES_USER"] == db_env["POSTGRES_USER"] == schema_env["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == db_env["POSTGRES_PASSWORD"]
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
    stack: ResolvedStack, tmp_path: Path, **fake: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    schema = stack.services["temporal-schema"]
    command = tokens(schema.get("entrypoint")) + tokens(schema.get("command"))
    [script] = [token for token in command if token.endswith(".sh")]
    repo_file = stack.repo_path_for("temporal-schema", PurePosixPath(script))
    assert repo_file is not None and repo_file.is_file(), f"{script} is not mounted from repo"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("temporal-sql-tool", FAKE_SQL_TOOL), ("nc", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_DIR": str(tmp_path),
        **stack.environment("temporal-schema"),
        "SQL_PASSWORD": "secret",
        **fake,
    }
    result = subprocess.run(["sh", str(repo_file)], env=env, capture_output=True, text=True)
    calls_file = tmp_path / "calls"
    return result, calls_file.read_text().splitlines() if calls_file.exists() else []


def test_schema_setup_creates_and_migrates_both_databases(
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, calls = _run_schema_setup(stack, tmp_path)
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
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, calls = _run_schema_setup(stack, tmp_path, FAKE_EXISTS="1")
    assert result.returncode == 0, result.stderr  # a second `docker compose up` still works
    assert sum("update-schema" in call for call in calls) == 2


def test_dynamic_config_file_is_mounted_and_valid(stack: ResolvedStack) -> None:
    configured = PurePosixPath(stack.environment("temporal")["DYNAMIC_CONFIG_FILE_PATH"])
    in_container = configured if configured.is_absolute() else TEMPORAL_HOME / configured
    repo_file = stack.repo_path_for("temporal", in_container)
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

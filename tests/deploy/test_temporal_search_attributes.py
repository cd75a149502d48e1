"""The temporal-admin-tools service prepares smsdesk's namespace: it waits for Temporal, creates
the namespace when missing and registers the search attributes the workflows use.
deploy/temporal/prepare-namespace.sh runs here against a stand-in `temporal` CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from tests.helpers.compose import ResolvedStack
from tests.helpers.deploy_rules import tokens

SEARCH_ATTRIBUTES = {
    "CustomerPhone": "Keyword",
    "SenderNumber": "Keyword",
    "ZendeskTicketId": "Int",
    "ConversationStatus": "Keyword",
}


def test_ui_and_admin_tools_talk_to_the_temporal_service(stack: ResolvedStack) -> None:
    for name in ("temporal-ui", "temporal-admin-tools"):
        assert stack.environment(name)["TEMPORAL_ADDRESS"] == "temporal:7233", name
    assert stack.services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert stack.services["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")
    tag = stack.services["temporal"]["image"].split(":")[1]
    assert stack.services["temporal-admin-tools"]["image"].split(":")[1].startswith(tag), (
        "admin-tools should match the server version"
    )


def _registration_script(stack: ResolvedStack) -> Path:
    admin = stack.services["temporal-admin-tools"]
    command = tokens(admin.get("entrypoint")) + tokens(admin.get("command"))
    scripts = [token for token in command if token.endswith(".sh")]
    assert len(scripts) == 1, f"admin-tools should run one script, runs {command}"
    repo_file = stack.repo_path_for("temporal-admin-tools", PurePosixPath(scripts[0]))
    assert repo_file is not None and repo_file.is_file(), f"{scripts[0]} is not mounted from repo"
    return repo_file


def test_admin_tools_command_registers_the_four_search_attributes(stack: ResolvedStack) -> None:
    admin = stack.services["temporal-admin-tools"]
    # The image's own entrypoint is `sleep infinity`: without an override nothing would run.
    assert admin.get("entrypoint"), "admin-tools needs an entrypoint override"
    script = _registration_script(stack).read_text()
    assert "temporal operator search-attribute create" in script
    assert "temporal operator cluster health" in script, "must wait for Temporal"
    registered = dict(re.findall(r"^register (\w+) (\w+)$", script, flags=re.MULTILINE))
    assert registered == SEARCH_ATTRIBUTES


def test_registered_attributes_are_the_ones_the_workflows_use(stack: ResolvedStack) -> None:
    from workflows.search import DEV_SERVER_ARGS  # the product's own list (dev server)

    script = _registration_script(stack).read_text()
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
    stack: ResolvedStack, tmp_path: Path, **fake: str
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
        [sh, str(_registration_script(stack))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls_file = tmp_path / "calls"
    calls = calls_file.read_text().splitlines() if calls_file.exists() else []
    return result, calls


def test_registration_waits_then_creates_only_missing_attributes(
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, calls = _run_registration(
        stack, tmp_path, FAKE_NOT_SERVING_TIMES="2", FAKE_NO_NAMESPACE_TIMES="1"
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
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, calls = _run_registration(stack, tmp_path, FAKE_NAMESPACE_MISSING="1")
    assert result.returncode == 0, result.stderr
    [create] = [call.split() for call in calls if "namespace create" in call]
    assert create[create.index("--namespace") + 1] == "smsdesk-ns"
    assert create[create.index("--retention") + 1] == "72h"
    first_attribute = next(i for i, c in enumerate(calls) if "search-attribute create" in c)
    assert calls.index(" ".join(create)) < first_attribute

    fresh = tmp_path / "again"
    fresh.mkdir()
    result, calls = _run_registration(stack, fresh)
    assert result.returncode == 0 and not any("namespace create" in c for c in calls)


def test_registration_gives_up_when_temporal_never_serves(
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, calls = _run_registration(
        stack, tmp_path, FAKE_NOT_SERVING_TIMES="1000000", WAIT_SECONDS="0"
    )
    assert result.returncode != 0
    assert not any("create" in call for call in calls)


def test_registration_fails_loudly_when_a_create_fails(
    stack: ResolvedStack, tmp_path: Path
) -> None:
    result, _calls = _run_registration(stack, tmp_path, FAKE_CREATE_EXIT="1")
    assert result.returncode != 0


def test_registration_script_is_valid_posix_sh(stack: ResolvedStack) -> None:
    # admin-tools is Alpine: the script must not need bash.
    result = subprocess.run(["sh", "-n", str(_registration_script(stack))], capture_output=True)
    assert result.returncode == 0, result.stderr

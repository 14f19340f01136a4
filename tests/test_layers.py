"""The layers hold, and the import-linter contract that guards them can fail.

`make lint` runs the contract on the tree; this test also proves it bites: a copy of the tree
whose kernel imports the worker is refused.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.harness import REPO

PACKAGES = ("camcount", "camcount_cli", "realtime_worker", "camcount_pipelines")
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


def test_a_kernel_importing_the_worker_breaks_the_contract(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    settings = root / "camcount" / "settings.py"
    settings.write_text(settings.read_text() + "\nimport realtime_worker.runner  # noqa: E402, F401\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    assert "camcount.settings -> realtime_worker.runner" in result.stdout


def test_the_worker_and_the_pipelines_stay_independent(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    runner = root / "realtime_worker" / "runner.py"
    runner.write_text(runner.read_text() + "\nimport camcount_pipelines.partitions  # noqa: E402, F401\n")
    result = lint_imports(root)
    assert result.returncode == 1, result.stdout
    assert "realtime_worker.runner -> camcount_pipelines.partitions" in result.stdout

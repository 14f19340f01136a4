"""Ctrl-C at any moment of any command: one line, exit 130, and nothing left half-started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.harness import REPO
from bench.harness.net import free_port
from camcount.db.cluster import Cluster

CAMCOUNT = str(REPO / ".venv" / "bin" / "camcount")


def interrupt(args: list[str], when, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `camcount args`, send SIGINT once `when()` is true, and wait for it to end."""
    process = subprocess.Popen([CAMCOUNT, *args], cwd=REPO, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not when() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


@pytest.mark.parametrize("after_s", [0.25, 0.6])
def test_ctrl_c_while_a_command_loads_is_one_line_and_130(after_s: float) -> None:
    """The commands take about a second to load (OpenCV, Dagster): a Ctrl-C then was a traceback."""
    began = time.monotonic()
    result = interrupt(["worker", "check-config", "docs/examples/worker.yaml"],
                       lambda: time.monotonic() - began >= after_s)
    assert result.returncode == 130, result
    assert result.stdout == "" and result.stderr.splitlines() == ["error: interrupted (Ctrl-C)"], result.stderr


def test_ctrl_c_during_pg_ctl_stops_the_server_again_and_says_so(tmp_path: Path) -> None:
    """It used to exit 130 without a word and leave the server starting."""
    cluster = Cluster(root=tmp_path / "home" / "db", port=free_port())
    env = {"CAMCOUNT_HOME": str(tmp_path / "home"), "CAMCOUNT_DB_PORT": str(cluster.port), "CAMCOUNT_DATABASE_URL": ""}
    try:
        result = interrupt(["db", "start"], (cluster.data_dir / "postmaster.pid").exists, env)
        assert result.returncode == 130, result
        assert result.stderr.splitlines() == [
            "error: interrupted: the embedded database was stopped again; `camcount db start` starts it"], result
        assert not cluster.is_running()
    finally:
        cluster.stop()

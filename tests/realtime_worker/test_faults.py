"""Fault injection on the real worker process: SIGKILL mid-run, database down mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from bench.harness import REPO
from bench.harness.worker_configs import camera, db_totals, write_config
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate

pytestmark = pytest.mark.fault


def start_worker(config: Path, home: Path, database_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(REPO / ".venv/bin/camcount"), "worker", "run", "--config", str(config)], cwd=REPO,
        env={**os.environ, "CAMCOUNT_HOME": str(home), "CAMCOUNT_DATABASE_URL": database_url},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for_rows(db: psycopg.Connection, camera_id: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not db.execute("SELECT 1 FROM raw.stream_health WHERE camera_id = %s LIMIT 1", (camera_id,)).fetchone():
        assert time.monotonic() < deadline, "the worker wrote nothing"
        time.sleep(0.5)


def test_sigkill_then_restart_leaves_no_duplicates(
    database_url: str, db: psycopg.Connection, short_clip: Path, short_reference: Counter, tmp_path: Path,
    camera_id: str,
) -> None:
    live = write_config(tmp_path / "live.yaml", [camera(camera_id, short_clip, playback="native")])
    worker = start_worker(live, tmp_path / "home", database_url)
    wait_for_rows(db, camera_id)
    time.sleep(5)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    partial = sum(db_totals(db, camera_id).values())
    # Restart over the same file (fast this time): same event ids, so only what was missing lands.
    fast = write_config(tmp_path / "fast.yaml", [camera(camera_id, short_clip)])
    restarted = start_worker(fast, tmp_path / "home", database_url)
    output, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, output
    assert partial < sum(short_reference.values()), "the kill came too late to test anything"
    assert db_totals(db, camera_id) == short_reference


def test_database_down_20s_loses_nothing(
    scratch_cluster: Cluster, short_clip: Path, short_reference: Counter, tmp_path: Path, camera_id: str
) -> None:
    url = scratch_cluster.recreate_database("outage")
    migrate(url)
    config = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip, playback="native")])
    worker = start_worker(config, tmp_path / "home", url)
    with psycopg.connect(url, autocommit=True) as db:
        wait_for_rows(db, camera_id)
    scratch_cluster.stop()
    try:
        time.sleep(20)
        assert worker.poll() is None, "the worker must ride out the outage"
        assert list((tmp_path / "home" / "spool").rglob("*.jsonl")), "rows must be spooled while the DB is down"
    finally:
        scratch_cluster.start()
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    assert not list((tmp_path / "home" / "spool").rglob("*.jsonl")), "the spool must be replayed"
    with psycopg.connect(url, autocommit=True) as db:
        assert db_totals(db, camera_id) == short_reference
        health = db.execute("SELECT count(*) FROM raw.stream_health WHERE camera_id = %s", (camera_id,)).fetchone()
        assert health[0] >= 25  # one a second for ~30 s, including those spooled during the outage

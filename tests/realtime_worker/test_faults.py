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
from realtime_worker.sink.spool import worker_spool_dir

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


def start_live_workers(
    cameras: tuple[str, ...], clip: Path, home: Path, url: str, workdir: Path
) -> list[subprocess.Popen]:
    """One worker per camera, all on one home, playing `clip` at its own rate; returns once each wrote."""
    workers = [
        start_worker(write_config(workdir / f"{cam}.yaml", [camera(cam, clip, playback="native")]), home, url)
        for cam in cameras
    ]
    with psycopg.connect(url, autocommit=True) as db:
        for cam in cameras:
            wait_for_rows(db, cam)
    return workers


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


def test_two_workers_on_one_home_ride_out_a_database_outage(
    scratch_cluster: Cluster, short_clip: Path, short_reference: Counter, tmp_path: Path, camera_id: str
) -> None:
    """Two workers sharing a $CAMCOUNT_HOME used to overwrite each other's spool segments during an
    outage (one lost 11 of 34 crossings and still exited 0; the other's sink died). Each now
    spools into its own locked sub-directory, and both replay everything."""
    url = scratch_cluster.recreate_database("outage")
    migrate(url)
    home, cameras = tmp_path / "home", (f"{camera_id}-a", f"{camera_id}-b")
    workers = start_live_workers(cameras, short_clip, home, url, tmp_path)
    scratch_cluster.stop()
    try:
        time.sleep(20)
        assert all(worker.poll() is None for worker in workers), "the workers must ride out the outage"
        spools = {path.parent for path in (home / "spool").rglob("*.jsonl")}
        assert spools == {worker_spool_dir(home / "spool", [cam]) for cam in cameras}, "one spool per worker"
    finally:
        scratch_cluster.start()
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
    assert not list((home / "spool").rglob("*.jsonl")), "the spools must be replayed"
    with psycopg.connect(url, autocommit=True) as db:
        for cam in cameras:
            assert db_totals(db, cam) == short_reference, cam
            health = db.execute("SELECT count(*) FROM raw.stream_health WHERE camera_id = %s", (cam,)).fetchone()
            assert health[0] >= 25  # one a second for ~30 s, including those spooled during the outage

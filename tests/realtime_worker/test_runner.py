"""The worker end to end on the real sample clip: decode, the default detector, ByteTrack, count, TimescaleDB."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import psycopg

from bench.harness.worker_configs import camera, db_totals, line_totals, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import RunSummary, run_worker


def run(config_path: Path, database_url: str) -> RunSummary:
    return run_worker(load_config(config_path), database_url=database_url, home=config_path.parent,
                      camera_ids=None, stop=threading.Event())


def test_sample_clip_counts_equal_database_rows_and_rerun_adds_none(
    database_url: str, db: psycopg.Connection, sample_video: Path, tmp_path: Path, camera_id: str, reference: Counter
) -> None:
    path = write_config(tmp_path / "w.yaml", [camera(camera_id, sample_video)])
    summary = run(path, database_url)
    assert summary.frames[camera_id] == 795
    counted = line_totals(summary, camera_id)
    assert counted == reference, "the same clip must count the same every run"
    assert all(counted[(line, d)] > 0 for line in ("centre", "east-path") for d in ("in", "out"))
    assert db_totals(db, camera_id) == counted
    run(path, database_url)  # the same file again: identical event ids, nothing inserted
    assert db_totals(db, camera_id) == counted
    health = db.execute("SELECT count(*), max(processed_fps) FROM raw.stream_health WHERE camera_id = %s",
                        (camera_id,)).fetchone()
    assert health[0] >= 1 and health[1] > 0
    registered = db.execute("SELECT site_id, geometry->'lines'->0->>'in_side' FROM ops.cameras WHERE camera_id = %s",
                            (camera_id,)).fetchone()
    assert registered == ("test-site", "east")


def test_two_cameras_batched_count_as_each_alone(
    database_url: str, sample_video: Path, tmp_path: Path, reference: Counter
) -> None:
    path = write_config(tmp_path / "w.yaml", [camera("pair-a", sample_video), camera("pair-b", sample_video)])
    summary = run(path, database_url)
    assert summary.frames["pair-a"] == summary.frames["pair-b"] == 795
    assert line_totals(summary, "pair-a") == reference
    assert line_totals(summary, "pair-b") == reference


def test_max_batch_caps_images_per_detector_call(database_url: str, short_clip: Path, tmp_path: Path) -> None:
    """Three cameras whose regions are cut into two tiles each, a cap of four: no detector call sees
    more than four images, every tile of every frame is detected once, and the split batches count
    every camera alike. SSDLite: its 300 px input fits two tiles of this region, NanoDet's 416 does not."""
    cameras = [camera(f"cap-{n}", short_clip) for n in range(3)]
    detector = {"backend": "ssdlite", "max_batch": 4, "tiles": "1x2"}
    summary = run(write_config(tmp_path / "w.yaml", cameras, detector=detector), database_url)
    assert max(summary.detector_batches) == 4
    images = sum(size * calls for size, calls in summary.detector_batches.items())
    assert images == 2 * sum(summary.frames.values()) == 2 * 900
    assert line_totals(summary, "cap-0") == line_totals(summary, "cap-1") == line_totals(summary, "cap-2")

"""The worker records its own life in raw.platform_events: a start (version, cameras) and a stop
(how it ended, with what it counted), beside what the sink records (outages, replays, alarms)."""

from __future__ import annotations

import threading
from importlib.metadata import version
from pathlib import Path

import psycopg

from bench.harness.worker_configs import camera, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import run_worker
from tests.conftest import write_clip


def life_events(db: psycopg.Connection, camera_id: str) -> list[tuple]:
    return db.execute(
        """SELECT kind, severity, message, details FROM raw.platform_events
           WHERE kind IN ('worker_started', 'worker_stopped') AND details -> 'cameras' ? %s
           ORDER BY time, ingest_seq""", (camera_id,)).fetchall()


def test_a_run_records_its_start_and_its_clean_end_with_totals(
    database_url: str, db: psycopg.Connection, sample_video: Path, tmp_path: Path, camera_id: str
) -> None:
    clip = write_clip(sample_video, tmp_path / "clip.avi", 100)
    config = load_config(write_config(tmp_path / "w.yaml", [camera(camera_id, clip)]))
    summary = run_worker(config, database_url=database_url, home=tmp_path, camera_ids=None, stop=threading.Event())

    [(kind, severity, message, started), (end, end_severity, end_message, stopped)] = life_events(db, camera_id)
    assert (kind, severity) == ("worker_started", "info")
    assert started["version"] == version("camcount") and started["cameras"] == [camera_id]
    assert camera_id in message
    assert (end, end_severity) == ("worker_stopped", "info"), end_message
    assert stopped["clean"] is True and stopped["reason"] == "sources ended"
    assert stopped["frames"] == 100 == summary.frames[camera_id]
    assert stopped["crossings"] == sum(summary.crossings.values())
    assert stopped["zone_entries"] == sum(summary.zone_entries.values())
    assert f"{stopped['frames']} frames" in end_message
    # The file's end is recorded for its camera: the camera_offline alert rule leaves it be.
    finished = db.execute("SELECT severity, details FROM raw.platform_events WHERE kind = 'source_finished' "
                          "AND camera_id = %s", (camera_id,)).fetchall()
    assert finished == [("info", {"frames": 100})]


def test_a_requested_stop_is_clean_and_says_so(
    database_url: str, db: psycopg.Connection, sample_video: Path, tmp_path: Path, camera_id: str
) -> None:
    clip = write_clip(sample_video, tmp_path / "clip.avi", 100)
    config = load_config(write_config(tmp_path / "w.yaml", [camera(camera_id, clip)]))
    stop = threading.Event()
    seen = []

    def after_ten_frames(frames: int) -> None:
        seen.append(frames)
        if sum(seen) >= 10:
            stop.set()

    run_worker(config, database_url=database_url, home=tmp_path, camera_ids=None, stop=stop,
               on_frames=after_ten_frames)
    [_, (end, severity, _, stopped)] = life_events(db, camera_id)
    assert (end, severity, stopped["reason"], stopped["clean"]) == ("worker_stopped", "info", "stop requested", True)
    assert 10 <= stopped["frames"] < 100

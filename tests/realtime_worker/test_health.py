"""Health figures are real: `stream_health` rows and the /metrics endpoint during a live-rate run."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import psycopg

from bench.harness.worker_configs import camera, write_config
from realtime_worker.config import load_config
from realtime_worker.health import HealthTracker, quality_score
from realtime_worker.runner import Worker
from realtime_worker.sources.stats import StatsRecorder


def metric(text: str, name: str, camera_id: str) -> float:
    prefix = f'{name}{{camera="{camera_id}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix)).removeprefix(prefix))


def test_health_rows_and_metrics_during_a_run(
    database_url: str, db: psycopg.Connection, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    path = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip, playback="native")],
                        health={"interval_s": 1.0, "metrics_port": 0})
    worker = Worker(load_config(path), database_url=database_url, home=tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        time.sleep(4.5)
        body = urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).read().decode()
    finally:
        stop.set()
        thread.join(30)
    assert 7 <= metric(body, "camcount_input_fps", camera_id) <= 13  # the clip plays at 10 fps
    assert metric(body, "camcount_processed_fps", camera_id) > 5
    assert 0 < metric(body, "camcount_inference_ms_p50", camera_id) < 1000
    assert metric(body, "camcount_quality", camera_id) > 0.5
    rows = db.execute(
        """SELECT input_fps, processed_fps, decode_ms_p50, inference_ms_p95, e2e_ms_p95, jitter_ms, quality
           FROM raw.stream_health WHERE camera_id = %s ORDER BY time""", (camera_id,)).fetchall()
    assert len(rows) >= 3
    steady = rows[1]  # the first window includes start-up
    assert 7 <= steady[0] <= 13 and steady[1] > 5
    assert steady[2] is not None and steady[3] > 0 and 0 < steady[4] < 1000 and steady[5] is not None
    assert 0.5 < steady[6] <= 1


def test_quality_score_formula() -> None:
    healthy = dict(input_fps=10, processed_fps=10, processed=100, dropped=0, e2e_ms_p95=200, reconnects=0)
    assert quality_score(**healthy) == 1.0
    assert quality_score(**{**healthy, "processed_fps": 5}) == 0.5
    assert quality_score(**{**healthy, "dropped": 100}) == 0.5
    assert quality_score(**{**healthy, "e2e_ms_p95": 3000}) == 0.5
    assert quality_score(**{**healthy, "reconnects": 1}) == 0.5
    assert quality_score(input_fps=0, processed_fps=0, processed=0, dropped=0, e2e_ms_p95=None, reconnects=0) == 0


def test_a_stop_writes_no_last_window_that_would_call_a_healthy_camera_down() -> None:
    recorder = StatsRecorder("cam")
    tracker = HealthTracker("cam", interval_s=1.0)
    recorder.frame(arrival=1.0, wall=1.0, decode_s=0.001)
    tracker.on_processed(decode_ms=1.0, inference_ms=5.0, e2e_ms=50.0)
    assert not tracker.only_cut_short(recorder.snapshot(queue_depth=0))  # a frame to score
    tracker.sample(time.time(), recorder.snapshot(queue_depth=0))
    up = recorder.snapshot(queue_depth=0)
    assert tracker.only_cut_short(up)  # up, but the stop came before the next frame
    assert tracker.sample(time.time(), up).quality == 0  # what the last sample would have said
    recorder.down(since=time.time())
    assert not tracker.only_cut_short(recorder.snapshot(queue_depth=0))  # down at the stop: a real 0

"""Live sources through the whole worker: a real GStreamer RTSP server, and an MJPEG server.

Tolerance: a live run re-encodes the clip (H.264 or JPEG) and may drop frames, so detections
differ slightly from the file's. Each line and direction must match the file's count within
LIVE_TOLERANCE crossings; the total within 15 % or LIVE_TOLERANCE, whichever is larger (the
30 s clip holds only about a dozen crossings, and UDP loses whole frames).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from bench.harness.streams import MjpegServer, RtspServer
from bench.harness.worker_configs import camera, db_totals, line_totals, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import Worker

LIVE_TOLERANCE = 2


def run_live(url: str, database_url: str, tmp_path: Path, camera_id: str, frames: int, **camera_options) -> Worker:
    """Run the worker on a live URL until `frames` frames were processed (or the stream ended)."""
    path = write_config(tmp_path / "w.yaml", [camera(camera_id, url, **camera_options)])
    worker = Worker(load_config(path), database_url=database_url, home=tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline, last, last_change = time.monotonic() + 90, 0, time.monotonic()
    while time.monotonic() < deadline and worker.summary.frames[camera_id] < frames:
        if worker.summary.frames[camera_id] != last:
            last, last_change = worker.summary.frames[camera_id], time.monotonic()
        elif last and time.monotonic() - last_change > 4:
            break  # the stream ended
        time.sleep(0.1)
    stop.set()
    thread.join(30)
    return worker


def assert_within_tolerance(live: Counter, reference: Counter) -> None:
    for key in set(live) | set(reference):
        assert abs(live[key] - reference[key]) <= LIVE_TOLERANCE, (key, live, reference)
    total = sum(reference.values())
    assert abs(sum(live.values()) - total) <= max(LIVE_TOLERANCE, 0.15 * total), (live, reference)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_live_counts_match_the_file(
    transport: str, database_url: str, db: psycopg.Connection, short_clip: Path, short_reference: Counter,
    tmp_path: Path, camera_id: str,
) -> None:
    with RtspServer(short_clip, loop=False) as server:
        worker = run_live(server.url, database_url, tmp_path, camera_id, frames=300, rtsp_transport=transport,
                          playback="native")
    live = line_totals(worker.summary, camera_id)
    assert worker.summary.frames[camera_id] >= 280
    assert_within_tolerance(live, short_reference)
    assert db_totals(db, camera_id) == live


def test_mjpeg_live_counts_match_the_file(
    database_url: str, db: psycopg.Connection, short_clip: Path, short_reference: Counter, tmp_path: Path,
    camera_id: str,
) -> None:
    with MjpegServer(short_clip) as server:
        worker = run_live(server.url, database_url, tmp_path, camera_id, frames=299)
    live = line_totals(worker.summary, camera_id)
    assert_within_tolerance(live, short_reference)
    assert db_totals(db, camera_id) == live

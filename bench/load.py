"""Load: 16 cameras of the sample clip at twice its speed, for 10 minutes (or `--minutes`).

    .venv/bin/python -m bench.load [--minutes 10]

The clip is re-encoded with a 20 fps header (the same 795 frames, so people walk twice as fast)
and each camera plays it looped at that native rate: 320 frames/s offered, several times what
two CPU cores can detect. The point is what overload does over time, not throughput:

* queues stay bounded: every camera's capture buffer (`camcount_queue_depth` on /metrics, polled
  every `SAMPLE_S`) and the sink, whose backlog shows as commit lag: `ingested_at - time` of the
  health rows (their `time` is when the worker wrote them; `ingested_at` when their batch began
  to commit). The lag is a 0..flush-interval sawtooth shared by rows of one flush, so its max,
  not a median, is what a growing backlog would push up;
* RSS is flat: median of the last third over median of the first third (after `WARMUP_S`);
* `stream_health` has a row for every camera every 10 s: the largest gap between consecutive
  rows of any camera, which may exceed 10 s by one loop iteration (a batch of 16 frames).

The worker runs in a process of its own (bench.common.start_worker).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import urllib.request
from itertools import pairwise
from pathlib import Path

import cv2
import psycopg

from bench.common import SAMPLE_VIDEO, RssSampler, bench_database, print_table, start_worker, stop_worker
from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from realtime_worker.config import SinkConfig, SourceRetryConfig

CAMERAS = 16
SPEED = 2.0
SAMPLE_S = 5.0
WARMUP_S = 20.0
HEALTH_INTERVAL_S = 10.0
BUFFER_FRAMES = SourceRetryConfig().buffer_frames  # the worker's default
FLUSH_S = SinkConfig().flush_interval_s


def accelerated_clip(path: Path) -> float:
    """Writes the sample clip with a SPEED-times frame rate in its header (same frames, faster
    people); returns that frame rate."""
    reader = cv2.VideoCapture(str(SAMPLE_VIDEO))
    fps = reader.get(cv2.CAP_PROP_FPS) * SPEED
    size = (int(reader.get(cv2.CAP_PROP_FRAME_WIDTH)), int(reader.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    while True:
        ok, image = reader.read()
        if not ok:
            break
        writer.write(image)
    writer.release()
    reader.release()
    return fps


def queue_depths(port: int) -> list[float]:
    """Every camera's capture buffer depth, from the worker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("camcount_queue_depth{")]


def thirds(values: list[float]) -> tuple[float, float]:
    """Medians of the first and the last third."""
    third = max(len(values) // 3, 1)
    return statistics.median(values[:third]), statistics.median(values[-third:])


def main(minutes: float = 10.0) -> list[tuple[str, str, str]]:
    url = bench_database("camcount_bench_load")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clip = workdir / "vtest-2x.avi"
        offered = accelerated_clip(clip) * CAMERAS
        ids = [f"load-{i:02d}-{os.getpid()}" for i in range(CAMERAS)]
        config = write_config(
            workdir / "load.yaml", [camera(cid, clip, loop=True, playback="native", start_at=None) for cid in ids],
            health={"interval_s": HEALTH_INTERVAL_S, "metrics_port": port},
            sources={"buffer_frames": BUFFER_FRAMES},
        )
        worker = start_worker(config, url, workdir)
        rss = RssSampler(worker.pid, SAMPLE_S)
        rss.start()
        started = time.monotonic()
        time.sleep(WARMUP_S)
        depths: list[float] = []
        while time.monotonic() - started < minutes * 60:
            time.sleep(SAMPLE_S)
            depths.append(sum(queue_depths(port)))
        stop_worker(worker)
        rss.stop()
    with psycopg.connect(url) as conn:
        health = conn.execute(
            "SELECT camera_id, extract(epoch FROM time), extract(epoch FROM ingested_at - time), processed_fps "
            "FROM raw.stream_health WHERE camera_id = ANY(%s) ORDER BY time", (ids,)).fetchall()
    by_camera: dict[str, list[float]] = {cid: [] for cid in ids}
    for cid, at, _, _ in health:
        by_camera[cid].append(float(at))
    gaps = [b - a for times in by_camera.values() for a, b in pairwise(times[1:])]  # first: start-up
    lags = [float(lag) for _, _, lag, _ in health]
    third = max(len(lags) // 3, 1)
    rss_first, rss_last = thirds(rss.since(started + WARMUP_S))
    depth_first, depth_last = thirds(depths)
    processed = statistics.fmean(float(fps) for *_, fps in health[len(health) // 3:]) * CAMERAS
    rows = [
        ("cameras / duration", f"{CAMERAS} / {minutes:g} min", f"clip at {SPEED:g}x: {offered:.0f} frames/s offered"),
        ("processed fps, all cameras", f"{processed:.1f}", "overloaded on purpose"),
        ("capture queue depth, all cameras, max", f"{max(depths):.0f}",
         f"target <= {CAMERAS * BUFFER_FRAMES} (16 x {BUFFER_FRAMES}-frame buffers)"),
        ("capture queue depth, last / first third", f"{depth_last:.0f} / {depth_first:.0f}", "medians"),
        ("sink commit lag max, last / first third", f"{max(lags[-third:]):.2f} / {max(lags[:third]):.2f} s",
         "health rows"),
        ("sink commit lag, max", f"{max(lags):.2f} s", f"target <= {2 * FLUSH_S:g}: twice the sink's flush interval"),
        ("RSS last / first third", f"{rss_last / rss_first:.3f}",
         f"target <= 1.05; {rss_first:.0f} -> {rss_last:.0f} MB medians"),
        ("cameras with health rows", f"{sum(1 for t in by_camera.values() if t)}", f"target >= {CAMERAS}"),
        ("stream_health max gap between rows", f"{max(gaps):.1f} s",
         f"target <= {HEALTH_INTERVAL_S + 1:.0f}; interval {HEALTH_INTERVAL_S:.0f} s + one loop iteration"),
    ]
    print_table(f"Load: {CAMERAS} looped cameras at {SPEED:g}x for {minutes:g} min", rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    main(parser.parse_args().minutes)

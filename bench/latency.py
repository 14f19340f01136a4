"""Live cameras: end-to-end latency to the committed row, memory, scaling, cameras sustained.

    .venv/bin/python -m bench.latency [--seconds 30]

Cameras: the sample clip served as endless MJPEG streams at its own 10 fps by
`bench.harness.streams.MjpegServer`, in a process of its own (each camera is one client with its own
pass over the clip). The worker is `camcount worker run` in a process of its own, with the
bundled default detector (NanoDet), so its RSS is the worker's alone.

Latency: from a frame's capture timestamp (`Frame.captured_at`, the wall clock when the worker
grabbed it, stored as the row's `time`) to the moment the row is committed. `ingested_at` is
`now()`, the transaction's START, so it would hide the COPY, the merge and the commit; instead a
poller on another connection reads new rows (by `ingest_seq`) every `POLL_S` and stamps each
with the wall clock when it first became visible, i.e. committed. That over-estimates by up to
one poll interval plus the query, never under-estimates. Rows: crossing and zone events, whose
`time` is the capture time of the frame that completed them (occupancy rows are per second,
written when the second closes, and health rows are not frames: both are left out). Extra lines
across the plaza give more events, hence steadier percentiles.

Sustained cameras: a camera is real-time when its processed fps (from `stream_health`, the
first sample left out as warm-up) stays >= 9.5 and no frame is dropped. 1, 2, 4 and 8 cameras
always run (scaling, RSS); then cameras are added past the last real-time count until it fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import psycopg

from bench.common import REPO, SAMPLE_VIDEO, RssSampler, bench_database, print_table, start_worker, stop_worker
from bench.harness.worker_configs import LINES, ZONES, camera, write_config
from bench.worker_throughput import detector_only_fps
from realtime_worker.config import SinkConfig

FPS = 10.0
REAL_TIME_FPS = 9.5
POLL_S = 0.02
WARMUP_S = 10.0
HEALTH_S = 5.0
FLUSH_S = SinkConfig().flush_interval_s  # the worker's default
EXTRA_LINES = [{"id": f"x{x}", "points": [[x, 120], [x, 400]], "sides": {"left": "east", "right": "west"},
                "in": "east"} for x in (128, 256, 512, 672)]
_SERVE = ("import sys; from bench.harness.streams import MjpegServer; s = MjpegServer(sys.argv[1]).start(); "
          "print(s.url, flush=True); sys.stdin.read()")


@dataclass
class LiveRun:
    cameras: int
    latencies_s: list[float]
    fps_per_camera: list[float]  # mean processed fps of each camera after warm-up
    dropped: int
    rss_mb: float  # peak after warm-up
    server_cpu: float  # cores used by the MJPEG server meanwhile

    @property
    def real_time(self) -> bool:
        return min(self.fps_per_camera) >= REAL_TIME_FPS and self.dropped == 0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q))


@contextmanager
def mjpeg_server() -> Iterator[tuple[str, psutil.Process]]:
    server = subprocess.Popen([sys.executable, "-c", _SERVE, str(SAMPLE_VIDEO)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        yield server.stdout.readline().decode().strip(), psutil.Process(server.pid)
    finally:
        server.kill()
        server.wait()


class CommitPoller(threading.Thread):
    """Stamps every new event row with the wall clock at which it first became visible."""

    def __init__(self, url: str) -> None:
        super().__init__(name="commit-poller", daemon=True)
        self.conn = psycopg.connect(url, autocommit=True)
        self.seen: list[tuple[float, float]] = []  # (capture time, visible at), POSIX seconds
        self._stop_event = threading.Event()
        self._after = self.conn.execute("SELECT last_value FROM raw.ingest_seq").fetchone()[0]

    def run(self) -> None:
        while not self._stop_event.wait(POLL_S):
            rows = self.conn.execute(
                "SELECT extract(epoch FROM time), ingest_seq FROM raw.crossing_events WHERE ingest_seq > %(after)s "
                "UNION ALL SELECT extract(epoch FROM time), ingest_seq FROM raw.zone_events "
                "WHERE ingest_seq > %(after)s", {"after": self._after}).fetchall()
            now = time.time()
            self.seen += [(float(at), now) for at, _ in rows]
            self._after = max((seq for _, seq in rows), default=self._after)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.conn.close()


def run_live(
    url: str, stream: str, server: psutil.Process, cameras: int, seconds: float, workdir: Path,
    flush_interval_s: float = FLUSH_S,
) -> LiveRun:
    ids = [f"live{cameras}-{i}-{time.monotonic_ns() % 10**6}" for i in range(cameras)]
    config = write_config(workdir / f"live-{cameras}.yaml",
                          [camera(cid, stream, lines=LINES + EXTRA_LINES, zones=ZONES) for cid in ids],
                          health={"interval_s": HEALTH_S, "metrics_port": None},
                          sink={"flush_interval_s": flush_interval_s})
    poller = CommitPoller(url)
    poller.start()
    worker = start_worker(config, url, workdir)
    rss = RssSampler(worker.pid)
    rss.start()
    time.sleep(WARMUP_S)
    measured_from, wall_from = time.monotonic(), time.time()
    server_cpu = sum(server.cpu_times()[:2])
    time.sleep(seconds)
    server_cpu = (sum(server.cpu_times()[:2]) - server_cpu) / seconds
    wall_to = time.time()
    stop_worker(worker)
    rss.stop()
    poller.stop()
    with psycopg.connect(url) as conn:
        health = conn.execute(
            "SELECT camera_id, avg(processed_fps), sum(dropped_frames) FROM raw.stream_health "
            "WHERE camera_id = ANY(%s) AND time > to_timestamp(%s) AND time <= to_timestamp(%s) GROUP BY 1",
            (ids, wall_from + HEALTH_S, wall_to)).fetchall()
    if len(health) != cameras:
        raise RuntimeError(f"{cameras} cameras: health rows for only {len(health)}; see {workdir}/worker.log")
    return LiveRun(
        cameras=cameras,
        latencies_s=[seen - at for at, seen in poller.seen if wall_from <= at <= wall_to],
        fps_per_camera=[float(fps) for _, fps, _ in health],
        dropped=sum(int(dropped) for _, _, dropped in health),
        rss_mb=max(rss.since(measured_from)),
        server_cpu=server_cpu,
    )


def main(seconds: float = 30.0) -> list[tuple[str, str, str]]:
    url = bench_database("camcount_bench_live")
    capacity = detector_only_fps()  # this run's CPU headroom: camera counts are absolute, not ratios
    load = os.getloadavg()[0]
    runs: dict[int, LiveRun] = {}
    with tempfile.TemporaryDirectory() as tmp, mjpeg_server() as (stream, server):
        workdir = Path(tmp)
        for n in (1, 2, 4, 8):
            runs[n] = run_live(url, stream, server, n, seconds * (2 if n == 4 else 1), workdir)
        # Walk up from the last real-time count until a count fails (or 16, the load bench's count).
        n = max((n for n, run in runs.items() if run.real_time), default=0)
        while n < 16 and (n == 0 or runs[n].real_time):
            n += 1
            runs.setdefault(n, run_live(url, stream, server, n, seconds, workdir))
        sustained = max((n for n, run in runs.items() if run.real_time and all(
            runs[m].real_time for m in runs if m < n)), default=0)
        # The sink's flush interval bounds latency from below; shown where the worker keeps up.
        keeping_up = max(sustained, 1)
        half_second = run_live(url, stream, server, keeping_up, seconds * 2, workdir, flush_interval_s=FLUSH_S / 2)
    four = runs[4]
    rows = [
        ("e2e latency p50, 4 live cameras", f"{four.percentile(50):.3f} s",
         f"{len(four.latencies_s)} events; capture -> committed row"),
        ("e2e latency p95, 4 live cameras", f"{four.percentile(95):.3f} s", ""),
        ("e2e latency p99, 4 live cameras", f"{four.percentile(99):.3f} s", "target <= 1.0"),
        (f"e2e p50 / p99, {keeping_up} camera(s), flush every {FLUSH_S:g} s (default)",
         f"{runs[keeping_up].percentile(50):.2f} / {runs[keeping_up].percentile(99):.2f} s",
         "keeps up" if runs[keeping_up].real_time else "does not keep up"),
        (f"e2e p50 / p99, {keeping_up} camera(s), sink.flush_interval_s {FLUSH_S / 2:g}",
         f"{half_second.percentile(50):.2f} / {half_second.percentile(99):.2f} s",
         f"{min(half_second.fps_per_camera):.2f} fps per camera (min)"),
    ]
    rows += [(f"worker RSS, {n} camera{'s' * (n > 1)}", f"{runs[n].rss_mb:.0f} MB", "peak after warm-up")
             for n in (1, 4, 8)]
    rows += [(f"live {n} cameras: fps per camera (min)", f"{min(run.fps_per_camera):.2f}",
              f"dropped {run.dropped}; p99 {run.percentile(99):.2f} s; MJPEG server {run.server_cpu:.2f} cores")
             for n, run in sorted(runs.items())]
    total = {n: statistics.fmean(run.fps_per_camera) * n for n, run in runs.items()}
    rows += [(f"scaling: processed fps {n} / 1 camera", f"{total[n] / total[1]:.2f}", f"ideal {n}")
             for n in (2, 4, 8)]
    rows.append(("cameras sustained in real time at 10 fps", f"{sustained}",
                 f"the default detector; per camera >= {REAL_TIME_FPS} fps, no drops; this run: detector-only "
                 f"{capacity:.0f} fps, load average {load:.1f} on {os.cpu_count()} CPUs"))
    print_table("Live cameras (MJPEG at 10 fps, worker in its own process)", rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per camera count")
    main(parser.parse_args().seconds)

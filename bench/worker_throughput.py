"""Worker throughput on the sample clip: detector alone vs the full pipeline, and camera scaling.

    .venv/bin/python -m bench.worker_throughput

Detector-only: frames decoded into memory first, then the detection stage as the worker runs it
for this camera (its default region and tiles: crop, detect, merge), one frame at a time.
Full pipeline: `camcount worker` over the file at full speed: decode, detect, track, count and
sink into TimescaleDB (COPY + merge). Both run in this process on the same machine, so their
ratio is meaningful even when absolute figures are noisy.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import cv2
import yaml

from bench.common import SAMPLE_VIDEO, bench_database, print_table
from camcount.settings import camcount_home
from realtime_worker.assembly import build_detector, build_tiling
from realtime_worker.config import WorkerConfig, load_config
from realtime_worker.detect.tiling import run_tiled
from realtime_worker.runner import run_worker

LINES = [{"id": "centre", "points": [[384, 140], [384, 330]], "sides": {"left": "east", "right": "west"},
          "in": "east"}]


def detector_only_fps() -> float:
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    config = WorkerConfig.model_validate(bench_config(1))
    detector, tiling = build_detector(config.detector), build_tiling(config.cameras[0], config)
    run_tiled(detector, frames[:4], [tiling.plan(frames[0])] * 4, config.detector.max_batch)  # warm-up
    started = time.perf_counter()
    for image in frames:
        run_tiled(detector, [image], [tiling.plan(image)], config.detector.max_batch)
    return len(frames) / (time.perf_counter() - started)


def bench_config(cameras: int) -> dict:
    return {
        "sites": [{"id": "bench", "timezone": "UTC"}],
        "cameras": [{"id": f"bench-{cameras}-{i}", "site": "bench", "source": str(SAMPLE_VIDEO), "lines": LINES,
                     "start_at": f"2026-01-01T0{cameras}:00:00Z"} for i in range(cameras)],
        "health": {"metrics_port": None},
    }


def pipeline_fps(url: str, cameras: int, workdir: Path) -> float:
    """Total frames per second over `cameras` copies of the clip in one worker."""
    path = workdir / f"bench-{cameras}.yaml"
    path.write_text(yaml.safe_dump(bench_config(cameras)))
    started = time.perf_counter()
    summary = run_worker(load_config(path), database_url=url, home=camcount_home(), camera_ids=None,
                         stop=threading.Event())
    return sum(summary.frames.values()) / (time.perf_counter() - started)


def main() -> list[tuple[str, str, str]]:
    url = bench_database()
    with tempfile.TemporaryDirectory() as workdir:
        detector = detector_only_fps()
        scaling = {n: pipeline_fps(url, n, Path(workdir)) for n in (1, 2, 4)}
    rows = [
        ("detector-only fps (default detector, region + tiles, 1 frame/call)", f"{detector:.1f}", ""),
        ("full-pipeline fps, 1 camera", f"{scaling[1]:.1f}", "decode+detect+track+count+sink"),
        ("pipeline / detector ratio", f"{scaling[1] / detector:.2f}", "target >= 0.90"),
    ]
    rows += [(f"full-pipeline fps, {n} cameras (total)", f"{fps:.1f}",
              f"{fps / scaling[1]:.2f}x of 1 camera; {fps / n:.1f} fps per camera")
             for n, fps in scaling.items() if n > 1]
    print_table("Worker throughput (sample clip 768x576, CPU)", rows)
    return rows


if __name__ == "__main__":
    main()

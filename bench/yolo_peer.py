"""camcount's YOLO path against the do-it-yourself peer: whole processes, same clip, weights and thresholds.

    .venv/bin/python -m bench.yolo_peer [--frames N] [--runs 2]

Peer (`peer_main`, run as `python -m bench.yolo_peer --peer VIDEO`): what a user would write in a
few lines: Ultralytics `model.track(persist=True)` frame by frame (ByteTrack, default
bytetrack.yaml) and one supervision `LineZone` (bottom-centre anchor) per line of
docs/examples/worker.yaml; it prints its counts and stores nothing.

camcount: `camcount worker run` with `detector.backend: ultralytics` and the same weights
(the test-only YOLOv8s .pt, scripts/fetch_test_weights.sh), class, confidence and imgsz, its
default region and tiles, and the tracker thresholds of the YOLO path; it also writes every
event into TimescaleDB.

Measured: the wall time of each whole process (imports, model load, decode, detect, track,
count, and for camcount the database), runs alternating so both meet the same machine load;
the median per side and camcount / peer (target <= 1). `--frames` cuts the clip first (the
whole 795-frame clip takes minutes per run on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from bench.common import REPO, SAMPLE_VIDEO, bench_database, print_table
from bench.harness.worker_configs import camera, write_config

WEIGHTS = REPO / ".camcount" / "test-models" / "yolov8s-upright-person.pt"
CONFIDENCE = 0.35
EXAMPLE_CONFIG = REPO / "docs" / "examples" / "worker.yaml"


def peer_main(video: str) -> None:
    """The peer script itself."""
    from realtime_worker.config import load_config
    from realtime_worker.detect.yolo import import_ultralytics

    model = import_ultralytics()(str(WEIGHTS), task="detect")
    import supervision as sv

    zones = {line.id: sv.LineZone(sv.Point(*line.points[0]), sv.Point(*line.points[-1]),
                                  triggering_anchors=[sv.Position.BOTTOM_CENTER])
             for line in load_config(EXAMPLE_CONFIG).cameras[0].lines}
    capture = cv2.VideoCapture(video)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        result = model.track(frame, persist=True, conf=CONFIDENCE, classes=[0], imgsz=640, verbose=False)[0]
        detections = sv.Detections.from_ultralytics(result)
        if detections.tracker_id is not None:
            for zone in zones.values():
                zone.trigger(detections)
    print(" ".join(f"{name}:{zone.in_count}/{zone.out_count}" for name, zone in zones.items()))


def cut_clip(frames: int | None, workdir: Path) -> Path:
    """The sample clip, or its first `frames` frames re-encoded losslessly enough (MJPG, high quality)."""
    if frames is None:
        return SAMPLE_VIDEO
    source = cv2.VideoCapture(str(SAMPLE_VIDEO))
    size = (int(source.get(cv2.CAP_PROP_FRAME_WIDTH)), int(source.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    path = workdir / f"clip-{frames}.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), source.get(cv2.CAP_PROP_FPS), size)
    for _ in range(frames):
        ok, image = source.read()
        if not ok:
            break
        writer.write(image)
    writer.release()
    return path


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command[-3:]} exited {done.returncode}: {(done.stderr or done.stdout)[-400:]}")
    return time.perf_counter() - started, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main(frames: int | None = 200, runs: int = 2) -> list[tuple[str, str, str]]:
    subprocess.run(["scripts/fetch_test_weights.sh", str(WEIGHTS.parent)], cwd=REPO, check=True)
    url = bench_database("camcount_bench_yolo_peer")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clip = cut_clip(frames, workdir)
        detector = {"backend": "ultralytics", "weights": str(WEIGHTS), "classes": ["Normal"],
                    "class_aliases": {"Normal": "person"}, "confidence": CONFIDENCE, "imgsz": 640}
        env = {**os.environ, "CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(workdir)}
        times: dict[str, list[float]] = {"camcount": [], "peer": []}
        counts = {}
        for run in range(runs):
            config = write_config(workdir / f"yolo-{run}.yaml", [camera(f"yolo-peer-{run}", clip, zones=[])],
                                  detector=detector, tracker={"high_threshold": 0.4, "new_track_threshold": 0.4})
            seconds, _ = timed([str(REPO / ".venv" / "bin" / "camcount"), "worker", "run", "--config", str(config)],
                               env)
            times["camcount"].append(seconds)
            seconds, counts["peer"] = timed([sys.executable, "-m", "bench.yolo_peer", "--peer", str(clip)], env)
            times["peer"].append(seconds)
    camcount, peer = statistics.median(times["camcount"]), statistics.median(times["peer"])
    rows = [
        ("camcount worker run / peer script, wall time", f"{camcount / peer:.2f}",
         f"{camcount:.0f} s / {peer:.0f} s, median of {runs} alternating runs, {frames or 'all'} frames; target <= 1"),
        ("peer counts (line:in/out)", counts["peer"], "model.track + LineZone, for reference"),
    ]
    print_table("YOLO path vs the do-it-yourself peer (test-only YOLOv8s .pt, CPU)", rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", metavar="VIDEO", help="run the peer script on VIDEO and print its counts")
    parser.add_argument("--frames", type=int, default=200, help="first N frames of the sample clip (0: all)")
    parser.add_argument("--runs", type=int, default=2)
    arguments = parser.parse_args()
    if arguments.peer:
        peer_main(arguments.peer)
    else:
        main(arguments.frames or None, arguments.runs)

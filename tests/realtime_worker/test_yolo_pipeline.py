"""The ultralytics backend through the whole worker, with real pretrained YOLO weights on the CPU."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from bench.harness.worker_configs import camera, db_totals, line_totals, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import run_worker

pytestmark = pytest.mark.yolo


def test_yolo_counts_crossings_on_the_sample_clip(
    database_url: str, db: psycopg.Connection, short_clip: Path, yolo_weights: str, tmp_path: Path, camera_id: str
) -> None:
    onnx_weights = yolo_weights.removesuffix(".pt") + ".onnx"  # same model, about 2x faster on the CPU
    detector = {"backend": "ultralytics", "weights": onnx_weights, "device": "auto", "classes": ["Normal"],
                "class_aliases": {"Normal": "person"}, "imgsz": 640, "confidence": 0.35}
    # These weights score people lower than SSDLite does: start tracks from 0.4 up.
    tracker = {"high_threshold": 0.4, "new_track_threshold": 0.4}
    path = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip)], detector=detector, tracker=tracker)
    summary = run_worker(load_config(path), database_url=database_url, home=tmp_path, camera_ids=None,
                         stop=threading.Event())
    counted = line_totals(summary, camera_id)
    assert summary.frames[camera_id] == 300
    assert sum(counted.values()) >= 4, counted
    assert {d for _, d in counted} == {"in", "out"}, counted
    assert db_totals(db, camera_id) == counted
    classes = db.execute("SELECT DISTINCT class_name FROM raw.crossing_events WHERE camera_id = %s", (camera_id,))
    assert classes.fetchall() == [("person",)]

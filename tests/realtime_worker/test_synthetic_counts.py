"""End to end on rendered video: MotionDetector -> ByteTracker -> CameraCounter equals the truth.

Each preset scene is written as an MJPG .avi, decoded with OpenCV and run frame by frame, as
the worker runs a fixed camera. Counts and occupancy must equal the truth exactly; dwell may
be off by one frame period (a track can be confirmed, or its box cross the edge, a frame late).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import psycopg
import pytest
import yaml

from realtime_worker.config import load_config
from realtime_worker.count import CameraCounter, CountUpdate, LineCounter, ZoneCounter
from realtime_worker.detect.motion import MotionDetector
from realtime_worker.runner import run_worker
from realtime_worker.track import ByteTracker
from realtime_worker.types import Detections, Direction, ZoneTransition
from tests.synthetic import (
    DOOR,
    FPS,
    HEIGHT,
    PRESETS,
    RED,
    START_AT,
    WIDTH,
    AmbiguousScene,
    Figure,
    GroundTruth,
    LineTruth,
    Preset,
    Scene,
    crossing_both_ways,
    full_scene,
    line_truth,
    lingering_on_line,
    occluding_pair,
    render_scene,
    walking_along_outside_segment,
    zone_dwell,
)

SCENES = [*PRESETS, full_scene]

# What each preset was designed to contain, counted by hand: (door in/out, aisle in/out, queue
# visits). It checks the independent truth computation itself before the pipeline is held to it.
DESIGNED = {
    crossing_both_ways: ((2, 2), (0, 0), 0),
    lingering_on_line: ((0, 1), (0, 0), 0),
    walking_along_outside_segment: ((0, 1), (0, 0), 0),
    occluding_pair: ((0, 0), (1, 1), 0),
    zone_dwell: ((0, 0), (0, 0), 2),
    full_scene: ((2, 4), (1, 1), 2),
}


@pytest.mark.parametrize("make", SCENES, ids=lambda make: make.__name__)
def test_truth_is_what_the_preset_was_designed_for(make: Callable[[], Preset]) -> None:
    door, aisle, visits = DESIGNED[make]
    preset = make()
    assert preset.line_truth == {"door": LineTruth(*door), "aisle": LineTruth(*aisle)}
    assert (preset.zone_truth["queue"].enters, preset.zone_truth["queue"].exits) == (visits, visits)


def test_truth_refuses_a_scene_a_pixel_of_error_could_change() -> None:
    # Standing 6 px from the door: exactly on the edge of its hysteresis band.
    figure = Figure(RED, ((0, 300, 180), (10, 300, 234), (20, 300, 234)))
    with pytest.raises(AmbiguousScene, match="hysteresis band"):
        line_truth(Scene((figure,), n_frames=21), DOOR)


@pytest.mark.parametrize("make", SCENES, ids=lambda make: make.__name__)
def test_counts_from_rendered_video_equal_the_truth(make: Callable[[], Preset], tmp_path: Path) -> None:
    preset = make()
    video = tmp_path / f"{make.__name__}.avi"
    drawn = render_scene(video, preset.scene)
    run = run_pipeline(video, drawn.times, preset)

    assert_lone_figures_detected(drawn, run.detections)
    crossings = [event for update in run.updates for event in update.crossings]
    for line in preset.lines:
        got = Counter(event.direction for event in crossings if event.line_id == line.line_id)
        assert LineTruth(got[Direction.IN], got[Direction.OUT]) == preset.line_truth[line.line_id], line.line_id

    for zone in preset.zones:
        truth = preset.zone_truth[zone.zone_id]
        events = [event for update in run.updates for event in update.zone_events if event.zone_id == zone.zone_id]
        enters = sum(event.transition is ZoneTransition.ENTER for event in events)
        dwell = sorted(event.dwell_s for event in events if event.transition is ZoneTransition.EXIT)
        assert (enters, len(dwell)) == (truth.enters, truth.exits), zone.zone_id
        assert dwell == pytest.approx(list(truth.dwell_s), abs=1 / FPS + 1e-6), zone.zone_id
        samples = [sample for update in run.updates for sample in update.occupancy if sample.zone_id == zone.zone_id]
        assert {sample.class_name for sample in samples} == {"person"}
        assert tuple((sample.second, sample.occupancy) for sample in samples) == truth.occupancy, zone.zone_id

    # Every figure was one track from start to end: no fragments, no spurious tracks.
    assert run.track_ids == set(range(1, len(preset.scene.figures) + 1))


@dataclass
class PipelineRun:
    detections: list[Detections]  # the detector's boxes, per frame
    updates: list[CountUpdate]  # the counter's output per frame, then the flush's
    track_ids: set[int]


def run_pipeline(video: Path, times: tuple[float, ...], preset: Preset) -> PipelineRun:
    """Decode `video` and count it as the worker would: detect, track, count, then flush."""
    detector, tracker = MotionDetector(), ByteTracker()
    counter = CameraCounter(
        "cam",
        lines=[
            LineCounter("cam", line.line_id, line.points, sides=line.sides, in_side=line.in_side)
            for line in preset.lines
        ],
        zones=[ZoneCounter("cam", zone.zone_id, zone.polygon) for zone in preset.zones],
    )
    run = PipelineRun([], [], set())
    capture = cv2.VideoCapture(str(video))
    try:
        for at in times:
            ok, image = capture.read()
            assert ok, f"{video} ended before frame {len(run.updates)}"
            [detections] = detector.detect([image])
            tracks = tracker.update(detections)
            run.detections.append(detections)
            run.track_ids.update(tracks.tracker_id.tolist())
            run.updates.append(counter.update(tracks, at))
        assert not capture.read()[0], f"{video} has more frames than rendered"
    finally:
        capture.release()
    run.updates.append(counter.end_of_footage(times[-1] + 1 / FPS))
    return run


def assert_lone_figures_detected(drawn: GroundTruth, detections: list[Detections]) -> None:
    """Every figure fully on screen and 10 px clear of the others is detected at IoU >= 0.8
    (merged or clipped figures are the tracker's problem, not the detector's)."""
    for frame, (figures, found) in enumerate(zip(drawn.boxes, detections, strict=True)):
        for index, box in figures.items():
            others = [other for i, other in figures.items() if i != index]
            margin = np.array([-10, -10, 10, 10])
            on_screen = box[0] >= 0 and box[1] >= 0 and box[2] <= WIDTH and box[3] <= HEIGHT
            if on_screen and not any(iou(np.array(box) + margin, other) > 0 for other in others):
                best = max((iou(box, found_box) for found_box in found.xyxy), default=0.0)
                assert best >= 0.8, f"frame {frame}: figure {index} at {box} best IoU {best:.2f}"


def iou(a: np.ndarray | tuple[int, ...], b: np.ndarray | tuple[int, ...]) -> float:
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a, b
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return float(inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter))


def test_the_worker_writes_the_truth_to_timescaledb(
    database_url: str, db: psycopg.Connection, tmp_path: Path, camera_id: str
) -> None:
    """The full scene through the real worker (capture thread, motion backend, sink): the rows in
    the database equal the ground truth."""
    preset = full_scene()
    video = tmp_path / "full_scene.avi"
    render_scene(video, preset.scene)
    cam = {
        "id": camera_id, "site": "synthetic", "source": str(video),
        "start_at": datetime.fromtimestamp(START_AT, UTC).isoformat(),
        "lines": [{"id": line.line_id, "points": [list(p) for p in line.points], "sides": line.sides,
                   "in": line.in_side} for line in preset.lines],
        "zones": [{"id": zone.zone_id, "polygon": [list(p) for p in zone.polygon]} for zone in preset.zones],
    }
    config = tmp_path / "w.yaml"
    config.write_text(yaml.safe_dump({
        "sites": [{"id": "synthetic", "timezone": "UTC"}], "cameras": [cam],
        "detector": {"backend": "motion"}, "health": {"metrics_port": None},
    }))
    run_worker(load_config(config), database_url=database_url, home=tmp_path, camera_ids=None, stop=threading.Event())

    crossings = Counter(db.execute("SELECT line_id, direction FROM raw.crossing_events WHERE camera_id = %s",
                                   (camera_id,)).fetchall())
    for line in preset.lines:
        truth = preset.line_truth[line.line_id]
        assert (crossings[(line.line_id, "in")], crossings[(line.line_id, "out")]) == (truth.ins, truth.outs)
    for zone in preset.zones:
        truth = preset.zone_truth[zone.zone_id]
        events = db.execute("SELECT transition, dwell_s FROM raw.zone_events WHERE camera_id = %s AND zone_id = %s",
                            (camera_id, zone.zone_id)).fetchall()
        assert sum(t == "enter" for t, _ in events) == truth.enters
        dwell = sorted(d for t, d in events if t == "exit")
        assert dwell == pytest.approx(list(truth.dwell_s), abs=1 / FPS + 1e-6)
        occupancy = db.execute(
            """SELECT extract(epoch FROM time)::bigint, occupancy FROM raw.zone_occupancy
               WHERE camera_id = %s AND zone_id = %s AND class_name = 'person' ORDER BY time""",
            (camera_id, zone.zone_id)).fetchall()
        assert tuple(occupancy) == truth.occupancy

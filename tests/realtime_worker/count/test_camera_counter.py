"""CameraCounter: one update per frame for every line and zone of a camera."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_worker.count import CameraCounter, LineCounter, ZoneCounter
from realtime_worker.types import Detections, Direction, ZoneTransition

T0 = 1_700_000_000.0


def tracks(feet: dict[int, tuple[float, float]], cars: frozenset[int] = frozenset()) -> Detections:
    """One frame: track id -> (x, y) of its feet (boxes 100 px tall, so 50 px in 0.1 s is a walk, not
    a jump: see count/lines.py); the ids in `cars` are cars, the rest people."""
    xy = np.array(list(feet.values()), np.float32).reshape(-1, 2)
    return Detections(
        xyxy=np.c_[xy[:, 0] - 20, xy[:, 1] - 100, xy[:, 0] + 20, xy[:, 1]],
        confidence=np.full(len(xy), 0.9, np.float32),
        class_id=np.array([2 if t in cars else 0 for t in feet], np.int32),
        tracker_id=np.array(list(feet), np.int64),
        class_names={0: "person", 2: "car"},
    )


def camera() -> CameraCounter:
    return CameraCounter(
        "cam",
        lines=[LineCounter("cam", "door", [(0, 100), (200, 100)], in_side="in")],
        zones=[ZoneCounter("cam", "hall", [(0, 120), (200, 120), (200, 300), (0, 300)])],
    )


def test_one_update_feeds_every_counter_and_counts_per_class() -> None:
    counter = camera()
    car = frozenset({2})
    frames = [
        (T0 + 0.0, {1: (50, 80), 2: (150, 80)}),  # north of the door
        (T0 + 0.1, {1: (50, 130), 2: (150, 130)}),  # through the door (OUT) into the hall
        (T0 + 1.0, {1: (50, 130)}),  # the car is unseen, within the zone's exit grace
    ]
    updates = [counter.update(tracks(feet, car), at) for at, feet in frames]
    crossings = [e for u in updates for e in u.crossings]
    assert [(e.line_id, e.track_id, e.direction, e.class_name) for e in crossings] == [
        ("door", 1, Direction.OUT, "person"),
        ("door", 2, Direction.OUT, "car"),
    ]
    assert [(e.zone_id, e.track_id, e.transition) for u in updates for e in u.zone_events] == [
        ("hall", 1, ZoneTransition.ENTER),
        ("hall", 2, ZoneTransition.ENTER),
    ]
    assert [(s.second, s.class_name, s.occupancy) for u in updates for s in u.occupancy] == [
        (T0, "car", 1),
        (T0, "person", 1),
    ]

    flushed = counter.end_of_footage(T0 + 1.1)
    assert [(e.track_id, e.transition) for e in flushed.zone_events] == [
        (1, ZoneTransition.EXIT),
        (2, ZoneTransition.EXIT),
    ]
    assert [(s.second, s.class_name, s.occupancy) for s in flushed.occupancy] == [
        (T0 + 1, "car", 1),
        (T0 + 1, "person", 1),
    ]
    # After the footage the line starts afresh: the next stream's id 1 is somebody else.
    assert counter.update(tracks({1: (50, 80)}), T0 + 5).crossings == []


def test_ids_must_be_unique_and_counters_of_this_camera() -> None:
    door = LineCounter("cam", "door", [(0, 100), (200, 100)], in_side="in")
    with pytest.raises(ValueError, match="duplicate line id"):
        CameraCounter("cam", lines=[door, door])
    with pytest.raises(ValueError, match="belongs to another camera"):
        CameraCounter("other", lines=[door])

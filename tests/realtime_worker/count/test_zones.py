"""ZoneCounter semantics on hand-built tracks: visits, dwell, grace exits, per-second occupancy."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_worker.count.zones import ZoneCounter
from realtime_worker.types import Detections, OccupancySample, ZoneEvent, ZoneTransition

ENTER, EXIT = ZoneTransition.ENTER, ZoneTransition.EXIT
T0 = 1_700_000_000.0  # a whole POSIX second
SQUARE = [(100, 100), (200, 100), (200, 200), (100, 200)]
INSIDE, OUTSIDE = (150.0, 150.0), (50.0, 150.0)


def tracks(feet: dict[int, tuple[float, float]], classes: dict[int, int] | None = None) -> Detections:
    """One frame: track id -> (x, y) of its feet; `classes` gives a track a class id (default person)."""
    xy = np.array(list(feet.values()), np.float32).reshape(-1, 2)
    return Detections(
        xyxy=np.c_[xy[:, 0] - 10, xy[:, 1] - 40, xy[:, 0] + 10, xy[:, 1]],
        confidence=np.full(len(xy), 0.9, np.float32),
        class_id=np.array([(classes or {}).get(t, 0) for t in feet], np.int32),
        tracker_id=np.array(list(feet), np.int64),
        class_names={0: "person", 2: "car"},
    )


def run(zone: ZoneCounter, frames: list[tuple[float, Detections]]) -> tuple[list[ZoneEvent], list[OccupancySample]]:
    events, samples = [], []
    for at, frame in frames:
        new_events, new_samples = zone.update(frame, at)
        events += new_events
        samples += new_samples
    return events, samples


def test_enter_and_exit_with_dwell_from_enter_to_last_inside_frame() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE)
    path = [OUTSIDE] + [INSIDE] * 20 + [OUTSIDE]  # inside on frames 1..20 at 10 fps
    events, _ = run(zone, [(T0 + k / 10, tracks({3: p})) for k, p in enumerate(path)])
    assert [(e.transition, e.track_id, e.at) for e in events] == [(ENTER, 3, T0 + 0.1), (EXIT, 3, T0 + 2.1)]
    assert events[0].dwell_s is None
    assert events[1].dwell_s == pytest.approx(1.9)
    assert {e.class_name for e in events} == {"person"}


def test_a_track_seen_first_inside_enters() -> None:
    events, _ = ZoneCounter("cam", "queue", SQUARE).update(tracks({1: INSIDE}), T0)
    assert [e.transition for e in events] == [ENTER]


def test_unseen_track_exits_after_the_grace_period_with_dwell_to_its_last_inside_frame() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE, exit_grace_s=1.0)
    frames = [(T0 + k / 10, tracks({1: INSIDE})) for k in range(11)]  # inside until T0 + 1.0
    frames += [(T0 + k / 10, tracks({})) for k in range(11, 25)]  # then the tracker lost it
    events, _ = run(zone, frames)
    assert [(e.transition, e.at) for e in events] == [(ENTER, T0), (EXIT, pytest.approx(T0 + 2.0))]
    assert events[1].dwell_s == pytest.approx(1.0)


def test_a_short_gap_inside_is_one_visit() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE, exit_grace_s=1.0)
    seen = [k < 5 or k >= 12 for k in range(20)]  # unseen for 0.7 s
    events, _ = run(zone, [(T0 + k / 10, tracks({1: INSIDE} if s else {})) for k, s in enumerate(seen)])
    assert [e.transition for e in events] == [ENTER]


def test_occupancy_is_the_per_second_peak_of_tracks_inside_zeros_included() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE)
    inside = {  # frame times (10 fps from T0 + 0.5) -> feet of each track
        0.5: {1: INSIDE},
        0.9: {1: INSIDE, 2: INSIDE},
        1.0: {1: INSIDE, 2: OUTSIDE},
        1.5: {1: OUTSIDE},
        2.3: {},
        4.1: {7: INSIDE},  # no frames during second 3
    }
    _, samples = run(zone, [(T0 + dt, tracks(feet)) for dt, feet in inside.items()])
    assert [(s.second - T0, s.occupancy) for s in samples] == [(0, 2), (1, 1), (2, 0)]
    assert all((s.camera_id, s.zone_id, s.class_name) == ("cam", "queue", "person") for s in samples)
    # The open second (4) is closed by the end of the footage, which also ends the visit still open.
    flushed_events, flushed = zone.end_of_footage(T0 + 4.2)
    assert [(s.second - T0, s.occupancy) for s in flushed] == [(4, 1)]
    assert [(e.transition, e.track_id, e.at, e.dwell_s) for e in flushed_events] == [(EXIT, 7, T0 + 4.2, 0.0)]
    assert zone.end_of_footage(T0 + 5) == ([], [])


def test_each_class_seen_gets_its_own_occupancy_rows() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE)
    frames = [
        (T0 + 0.0, tracks({})),
        (T0 + 1.0, tracks({4: INSIDE}, classes={4: 2})),
        (T0 + 2.0, tracks({4: OUTSIDE}, classes={4: 2})),
        (T0 + 3.0, tracks({})),
    ]
    events, samples = run(zone, frames)
    assert [(s.second - T0, s.class_name, s.occupancy) for s in samples] == [
        (0, "person", 0),
        (1, "car", 1),
        (1, "person", 0),
        (2, "car", 0),
        (2, "person", 0),
    ]
    assert [(e.transition, e.class_name) for e in events] == [(ENTER, "car"), (EXIT, "car")]


def test_a_clock_stepping_back_never_reports_a_second_twice() -> None:
    zone = ZoneCounter("cam", "queue", SQUARE)
    _, samples = run(zone, [(T0 + 1.5, tracks({})), (T0 + 0.5, tracks({1: INSIDE})), (T0 + 2.0, tracks({}))])
    assert [(s.second - T0, s.occupancy) for s in samples] == [(1, 1)]


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (10, 0)], "at least 3 points"),
        ([(0, 0), (10, 10), (10, 0), (0, 10)], "crosses or touches itself"),
    ],
)
def test_bad_polygons_are_refused(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ZoneCounter("cam", "queue", polygon)

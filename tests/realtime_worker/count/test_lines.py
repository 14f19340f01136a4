"""LineCounter semantics on hand-built tracks: direction, extent, hysteresis, polylines, memory, jumps."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from realtime_worker.count.lines import LineCounter
from realtime_worker.types import CrossingEvent, Detections, Direction

FPS = 10.0
IN, OUT = Direction.IN, Direction.OUT


def tracks(feet: dict[int, tuple[float, float]], class_id: int = 0, conf: float = 0.8) -> Detections:
    """One frame: track id -> (x, y) of its feet (the bottom-centre anchor); people are 100 px tall."""
    xy = np.array(list(feet.values()), np.float32).reshape(-1, 2)
    return Detections(
        xyxy=np.c_[xy[:, 0] - 20, xy[:, 1] - 100, xy[:, 0] + 20, xy[:, 1]],
        confidence=np.full(len(xy), conf, np.float32),
        class_id=np.full(len(xy), class_id, np.int32),
        tracker_id=np.array(list(feet), np.int64),
        class_names={0: "person", 2: "car"},
    )


def door(**kwargs: object) -> LineCounter:
    """A line drawn left to right on screen at y=100: north (up) is its left side."""
    return LineCounter(
        "cam", "door", [(0, 100), (200, 100)], sides={"left": "north", "right": "south"}, in_side="north", **kwargs
    )


def walk(counter: LineCounter, path: Iterable[tuple[float, float]], track_id: int = 1) -> list[CrossingEvent]:
    """Feed one track's feet positions, one frame each."""
    events = []
    for k, (x, y) in enumerate(path):
        events += counter.update(tracks({track_id: (x, y)}), at=k / FPS)
    return events


def directions(events: list[CrossingEvent]) -> list[Direction]:
    return [e.direction for e in events]


def test_crossing_both_ways() -> None:
    counter = door()
    out = walk(counter, [(100, y) for y in range(50, 160, 10)], track_id=1)
    came_in = walk(counter, [(60, y) for y in range(150, 40, -10)], track_id=2)
    assert directions(out) == [OUT] and directions(came_in) == [IN]


def test_left_and_right_are_as_the_viewer_sees_them() -> None:
    # Drawn right to left, the same line has north (up) on its RIGHT.
    counter = LineCounter(
        "cam", "door", [(200, 100), (0, 100)], sides={"left": "south", "right": "north"}, in_side="north"
    )
    assert directions(walk(counter, [(100, y) for y in range(150, 40, -10)])) == [IN]
    # Drawn downwards, its left is screen-right (east).
    aisle = LineCounter("cam", "aisle", [(100, 0), (100, 200)], sides={"left": "east", "right": "west"}, in_side="east")
    assert directions(walk(aisle, [(x, 100) for x in range(50, 160, 10)])) == [IN]


def test_event_carries_track_class_confidence_and_time() -> None:
    counter = door()
    assert counter.update(tracks({7: (100, 80)}, class_id=2, conf=0.7), at=10.0) == []
    [event] = counter.update(tracks({7: (100, 120)}, class_id=2, conf=0.7), at=10.1)
    assert event == CrossingEvent("cam", "door", 7, OUT, "car", pytest.approx(0.7), 10.1)


def test_jitter_on_the_line_counts_nothing() -> None:
    rng = np.random.default_rng(0)
    on_line = [(100 + k % 5, 100 + int(rng.integers(-3, 4))) for k in range(50)]
    assert walk(door(), [(100, 60), (100, 80), *on_line, (100, 80), (100, 60)]) == []


def test_a_step_over_within_the_band_and_back_counts_nothing() -> None:
    assert walk(door(), [(100, 80), (100, 95), (100, 105), (100, 95), (100, 80)]) == []


def test_each_transition_counts_once() -> None:
    there_and_back = [(100, 80), (100, 120), (100, 80), (100, 120), (100, 120)]
    assert directions(walk(door(), there_and_back)) == [OUT, IN, OUT]


def test_first_side_seen_is_not_a_crossing() -> None:
    # Born inside the band, the track's first side is the one it leaves the band on.
    assert walk(door(), [(100, 102), (100, 104), (100, 120), (100, 140)]) == []


def test_walking_along_the_line_outside_its_extent_counts_nothing_then_crossing_inside_counts() -> None:
    zigzag = [(300 - 10 * k, 100 + (20 if k % 2 else -20)) for k in range(8)]  # x 300..230, beyond the end
    assert walk(door(), zigzag) == []
    assert directions(walk(door(), [*zigzag, (230, 70), (190, 70), (150, 70), (150, 100), (150, 130)])) == [OUT]


def test_walking_around_an_end_counts_nothing() -> None:
    around = [(150, 60), (190, 60), (230, 60), (230, 100), (230, 140), (190, 140), (150, 140)]
    assert walk(door(), around) == []


def test_polyline_crossing_at_a_vertex_counts_once() -> None:
    # A V with its vertex at (100, 150): a per-segment counter would count this crossing twice.
    v = LineCounter("cam", "v", [(0, 50), (100, 150), (200, 50)], sides={"left": "a", "right": "b"}, in_side="a")
    assert directions(walk(v, [(100, y) for y in range(100, 210, 10)])) == [OUT]
    assert directions(walk(v, [(x, 120) for x in range(20, 190, 10)], track_id=2)) == [IN, OUT]
    assert directions(walk(v, [(130, 80), (130, 130), (90, 175), (60, 190)], track_id=3)) == [OUT]


def test_side_survives_while_unseen_and_is_forgotten_after_forget_after_s() -> None:
    for forget_after_s, expected in ((10.0, [OUT]), (2.0, [])):
        counter = door(forget_after_s=forget_after_s)
        counter.update(tracks({1: (100, 80)}), at=0.0)
        counter.update(tracks({}), at=3.0)
        assert directions(counter.update(tracks({1: (100, 120)}), at=5.0)) == expected


def test_an_id_handed_to_someone_far_away_is_a_new_person_not_a_crossing() -> None:
    # 100 px people: in 0.1 s a person moves at most 100 * (0.5 + 2.0 * 0.1) = 70 px.
    counter = door()
    counter.update(tracks({1: (100, 60)}), at=0.0)
    assert counter.update(tracks({1: (180, 140)}), at=0.1) == []  # 113 px away: someone else
    assert directions(counter.update(tracks({1: (180, 60)}), at=1.0)) == [IN]  # that someone crosses
    # The same distance after a second unseen is a walk: it counts.
    counter.update(tracks({2: (100, 60)}), at=0.0)
    assert directions(counter.update(tracks({2: (180, 140)}), at=1.0)) == [OUT]


def test_a_jump_is_measured_in_the_larger_box_so_a_near_person_may_move_more_pixels() -> None:
    counter = door()
    counter.update(tracks({1: (100, 60)}), at=0.0)
    near = tracks({1: (100, 150)})
    near.xyxy[0, 1] = 150 - 200  # now 200 px tall: 90 px in 0.1 s is within 200 * 0.7
    assert directions(counter.update(near, at=0.1)) == [OUT]


def test_reset_forgets_every_track() -> None:
    counter = door()
    counter.update(tracks({1: (100, 80)}), at=0.0)
    counter.reset()
    assert counter.update(tracks({1: (100, 120)}), at=0.1) == []


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(10, 10), (10, 10)], "segment 0 has zero length"),
        ([(0, 0), (10, 0), (10, 0), (20, 5)], "segment 1 has zero length"),
        ([(10, 10)], "at least 2 points"),
        ([(0, 0), (10, 0), (10, 10), (5, -5)], "crosses or touches itself"),
    ],
)
def test_bad_geometry_is_refused(points: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LineCounter("cam", "door", points, in_side="in")


def test_bad_side_names_are_refused() -> None:
    with pytest.raises(ValueError, match="in side 'up' is not one of"):
        LineCounter("cam", "door", [(0, 0), (10, 0)], sides={"left": "north", "right": "south"}, in_side="up")
    with pytest.raises(ValueError, match="two different names"):
        LineCounter("cam", "door", [(0, 0), (10, 0)], sides={"left": "x", "right": "x"}, in_side="x")


def test_untracked_detections_are_refused() -> None:
    with pytest.raises(ValueError, match="tracker"):
        door().update(Detections.empty(), at=0.0)

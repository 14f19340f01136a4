"""The teacher harness's scoring rules (bench.accuracy_teacher), on hand-made boxes and events."""

from __future__ import annotations

import numpy as np

from bench.accuracy_teacher import (
    EXAMPLE_CONFIG,
    BoxScore,
    checked_crossings,
    checked_truth_rows,
    match_events,
    reliable_height,
    shrunk,
)
from realtime_worker.config import load_config
from realtime_worker.types import Detections


def found(*boxes: tuple[float, float, float, float, float]) -> Detections:
    rows = np.array(boxes, np.float32).reshape(-1, 5)
    return Detections(rows[:, :4], rows[:, 4], np.zeros(len(rows), np.int32))


def test_unsure_teacher_boxes_count_neither_way() -> None:
    teacher = np.array([[0, 0, 10, 30, 0.9], [50, 0, 60, 30, 0.25], [100, 0, 110, 30, 0.8]], np.float32)
    score = BoxScore()
    # A hit, a detection of the unsure person (no hit, no false alarm), a false alarm; one true miss.
    score.add(found((1, 0, 10, 30, 0.9), (50, 1, 60, 30, 0.8), (200, 0, 210, 30, 0.7)), teacher)
    assert (score.hits, score.misses, score.false_alarms) == (1, 1, 1)
    assert (score.recall, score.precision) == (0.5, 0.5)


def test_below_a_minimum_height_nothing_counts_either_way() -> None:
    teacher = np.array([[0, 0, 10, 30, 0.9], [50, 0, 60, 90, 0.9]], np.float32)
    score = BoxScore()
    # The short person found, the tall one missed, a short and a tall false alarm.
    score.add(found((0, 0, 10, 30, 0.9), (100, 0, 110, 20, 0.8), (200, 0, 210, 90, 0.7)), teacher, min_height=50)
    assert (score.hits, score.misses, score.false_alarms) == (0, 1, 1)


def test_the_teacher_is_reliable_from_the_height_where_it_finds_what_its_closer_look_finds() -> None:
    def people(*heights: float) -> np.ndarray:
        return np.array([[20 * i, 0, 20 * i + 10, h, 0.9] for i, h in enumerate(heights)], np.float32)

    closer = {0: people(30, 45, 55, 65, 75, 85, 95)}
    # The teacher misses the two shortest: from 50 px up it finds all.
    assert reliable_height({0: closer[0][2:]}, closer) == 50.0
    assert reliable_height(closer, closer) == 0.0


def test_one_teacher_box_matches_one_detection() -> None:
    score = BoxScore()
    score.add(found((0, 0, 10, 30, 0.9), (0, 0, 10, 29, 0.8)), np.array([[0, 0, 10, 30, 0.9]], np.float32))
    assert (score.hits, score.false_alarms) == (1, 1)


def test_crossings_match_one_to_one_within_a_second_per_line_and_direction() -> None:
    truth = [("a", "in", 10.0), ("a", "in", 30.0), ("a", "out", 12.0)]
    counted = [("a", "in", 10.8), ("a", "in", 11.0), ("a", "out", 20.0), ("b", "in", 10.0)]
    tally = match_events(truth, counted)
    assert (tally[("a", "in", "true")], tally[("a", "in", "counted")], tally[("a", "in", "matched")]) == (2, 2, 1)
    assert (tally[("a", "out", "matched")], tally[("b", "in", "counted")], tally[("b", "in", "true")]) == (0, 1, 0)


def test_the_checked_truth_names_only_the_example_lines_and_says_where_each_crossing_came_from() -> None:
    truth = checked_crossings()
    lines = {line.id for line in load_config(EXAMPLE_CONFIG).cameras[0].lines}
    assert {line for line, _, _ in truth} == lines and {d for _, d, _ in truth} == {"in", "out"}
    assert all(0 < at < 80 for _, _, at in truth)  # within the 79.5 s clip
    rows = checked_truth_rows()
    assert {row["source"] for row in rows} == {"teacher", "eye"}
    assert all(row["note"] for row in rows if row["source"] == "eye"), "a crossing added by eye says what happened"


def test_shrinking_moves_the_lines_with_the_people() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 90:110] = 255  # a white square at the centre
    config = load_config(EXAMPLE_CONFIG)
    config = config.model_copy(update={"cameras": [config.cameras[0].model_copy(update={"lines": [
        config.cameras[0].lines[0].model_copy(update={"points": [(100.0, 0.0), (100.0, 100.0)]})]})]})
    [small], moved = shrunk([image], config, 0.5)
    assert small.shape == image.shape and small[0, 0, 0] == 128  # grey around the shrunk frame
    assert small[50, 100, 0] == 255 and small[50, 108, 0] == 0  # the square, half as wide, still centred
    assert moved.cameras[0].lines[0].points == [(100.0, 25.0), (100.0, 75.0)]
    zone = config.cameras[0].zones[0].polygon
    assert moved.cameras[0].zones[0].polygon == [(x / 2 + 50, y / 2 + 25) for x, y in zone]

"""Geometry in image coordinates (y down): sides as a viewer sees them, extents, polygons."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_worker.count.geometry import (
    point_in_polygon,
    polygon_self_intersects,
    polyline_self_intersects,
    polyline_signed_distance,
    projection,
    segment_length,
    signed_distance,
)


def pts(*points: tuple[float, float]) -> np.ndarray:
    return np.array(points, np.float64)


def test_left_is_the_viewers_left_of_the_walking_direction() -> None:
    # Walking right across the screen, the left is up (smaller y).
    right = pts((0, 0)), pts((10, 0))
    assert signed_distance(pts((5, -3), (5, 4)), *right).tolist() == [3, -4]
    # Walking down the screen (towards the viewer), the walker's left is screen-right.
    down = pts((0, 0)), pts((0, 10))
    assert signed_distance(pts((3, 5), (-2, 5)), *down).tolist() == [3, -2]


def test_projection_parameter_marks_the_segment_extent() -> None:
    t = projection(pts((0, 7), (5, -7), (10, 1), (-5, 0), (15, 3)), *pts((0, 0), (10, 0)))
    assert t.tolist() == [0.0, 0.5, 1.0, -0.5, 1.5]


def test_segment_length() -> None:
    assert segment_length((1, 2), (4, 6)) == 5.0
    assert segment_length((3, 3), (3, 3)) == 0.0


def test_point_in_polygon_handles_concave_polygons() -> None:
    ell = pts((0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20))  # an L
    inside = point_in_polygon(pts((5, 5), (15, 5), (5, 15), (15, 15), (25, 5), (-1, 5)), ell)
    assert inside.tolist() == [True, True, True, False, False, False]
    assert point_in_polygon(np.zeros((0, 2)), ell).shape == (0,)


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        ([(0, 0), (10, 0), (10, 10), (0, 10)], False),
        ([(0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20)], False),  # concave
        ([(0, 0), (10, 10), (10, 0), (0, 10)], True),  # bow tie
        ([(0, 0), (10, 0), (5, 0), (5, 10)], True),  # an edge folds back on the previous one
        ([(0, 0), (10, 0), (10, 0), (10, 10)], True),  # repeated corner
        ([(0, 0), (10, 0), (10, 10), (5, 0), (0, 10)], True),  # a corner touches an edge
    ],
)
def test_polygon_self_intersection(polygon: list[tuple[float, float]], expected: bool) -> None:
    assert polygon_self_intersects(polygon) is expected


def test_polyline_self_intersection() -> None:
    assert not polyline_self_intersects([(0, 0), (10, 0), (10, 10), (20, 10)])  # a step
    assert polyline_self_intersects([(0, 0), (10, 0), (10, 10), (5, -5)])  # loops back across


def test_polyline_distance_is_to_the_nearest_point_with_one_side() -> None:
    # A V drawn left to right on screen, its vertex at the bottom: its left (inside the V) is up.
    v = pts((0, 0), (10, 10), (20, 0))
    distance, within = polyline_signed_distance(pts((10, 5), (10, 15), (5, 5), (-5, -5), (25, -5)), v)
    np.testing.assert_allclose(distance[:3], [5 / np.sqrt(2), -5, 0], atol=1e-12)
    # Below the vertex (its outer wedge) is the right side, at the vertex's distance.
    assert within.tolist() == [True, True, True, False, False]


def test_polyline_extent_is_the_whole_polyline() -> None:
    line = pts((0, 0), (10, 0), (20, 0))
    distance, within = polyline_signed_distance(pts((10, -4), (0, 3), (20, -3), (-0.5, 1), (20.5, 1)), line)
    assert distance[:3].tolist() == [4, -3, 3]
    assert within.tolist() == [True, True, True, False, False]

"""Plane geometry for counting lines and zones, in image pixel coordinates.

Image y grows downwards, which mirrors the textbook orientation: a point that a viewer of the
image sees on the LEFT of a segment walked from `a` to `b` has a NEGATIVE cross product
(b - a) x (p - a). `signed_distance` hides this once: it is positive on the viewer's left, so
nothing else in the counters has to think about it.

Functions broadcast: `points` is (..., 2) and so are `a` and `b`, so one call handles every
track against every segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

Point = tuple[float, float]
PointsLike = np.ndarray | Sequence[Point] | Sequence[Sequence[float]]


def as_points(points: PointsLike) -> np.ndarray:
    """(N, 2) float64 array; float64 so that cross products of pixel coordinates are exact."""
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z of the 2-D cross product u x v."""
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def segment_length(a: Point | np.ndarray, b: Point | np.ndarray) -> float:
    return float(np.hypot(*(np.asarray(b, np.float64) - np.asarray(a, np.float64))))


def signed_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of `points` to the infinite line a->b, positive on the viewer's LEFT of a->b.

    The sign is the negated cross product (b - a) x (p - a) because image y points down.
    """
    ab = b - a
    return -cross(ab, points - a) / np.hypot(ab[..., 0], ab[..., 1])


def projection(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Parameter t of each point's orthogonal projection onto a->b: 0 at a, 1 at b.

    A point is "within the segment's extent" when 0 <= t <= 1.
    """
    ab = b - a
    return np.sum((points - a) * ab, axis=-1) / np.sum(ab * ab, axis=-1)


def polyline_signed_distance(points: np.ndarray, polyline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of each point to a polyline, and whether it is within the polyline's extent.

    The distance is to the nearest point of the polyline, so a point has ONE side w.r.t. the
    whole polyline (never one per segment). Its sign is the side w.r.t. the nearest segment;
    where the nearest point is an inner vertex (the outer wedge of a bend) it is the sign of
    the sum of the signed distances to both segments meeting there (the vertex pseudo-normal),
    which is the side the wedge lies on. A point whose nearest point is an end of the polyline
    and whose projection falls beyond that end is outside the extent (`within` False).
    """
    points = as_points(points)
    a, b = polyline[:-1], polyline[1:]
    rows = np.arange(len(points))
    t = projection(points[:, None, :], a, b)  # (N, S)
    nearest = a + np.clip(t, 0.0, 1.0)[..., None] * (b - a)  # (N, S, 2)
    gap = np.hypot(*np.moveaxis(points[:, None, :] - nearest, -1, 0))  # (N, S)
    seg = np.argmin(gap, axis=1)
    t_seg = t[rows, seg]
    last = len(a) - 1
    # In the outer wedge of an inner vertex, the neighbour segment shares the nearest point.
    other = np.where((t_seg > 1) & (seg < last), seg + 1, np.where((t_seg < 0) & (seg > 0), seg - 1, seg))
    side = signed_distance(points, a[seg], b[seg]) + signed_distance(points, a[other], b[other])
    within = ~(((seg == 0) & (t_seg < 0)) | ((seg == last) & (t_seg > 1)))
    return np.sign(side) * gap[rows, seg], within


def point_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: even-odd ray casting to the right of each point.

    A point exactly on an edge belongs to exactly one of two polygons sharing that edge (for a
    box on screen: left and top edges are in, right and bottom edges out).
    """
    points = as_points(points)
    x, y = points[:, 0:1], points[:, 1:2]  # (N, 1) against (V,) edges
    x1, y1 = polygon[:, 0], polygon[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)
    dy = np.where(y2 == y1, 1.0, y2 - y1)  # horizontal edges never straddle; avoid 0/0
    x_cross = x1 + (y - y1) * (x2 - x1) / dy
    return np.count_nonzero(straddles & (x < x_cross), axis=1) % 2 == 1


def _segments_intersect(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    """Closed segments p1p2 and q1q2 share at least one point (touching counts)."""
    d1, d2 = cross(q2 - q1, p1 - q1), cross(q2 - q1, p2 - q1)
    d3, d4 = cross(p2 - p1, q1 - p1), cross(p2 - p1, q2 - p1)
    if d1 * d2 < 0 and d3 * d4 < 0:
        return True

    def on_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.all(np.minimum(a, b) <= p) and np.all(p <= np.maximum(a, b)))

    # Collinear or touching: some endpoint lies on the other segment.
    return (
        (d1 == 0 and on_segment(p1, q1, q2))
        or (d2 == 0 and on_segment(p2, q1, q2))
        or (d3 == 0 and on_segment(q1, p1, p2))
        or (d4 == 0 and on_segment(q2, p1, p2))
    )


def _self_intersects(vertices: PointsLike, *, closed: bool) -> bool:
    pts = as_points(vertices)
    edges = list(pairwise(pts))
    if closed:
        edges.append((pts[-1], pts[0]))
    n = len(edges)
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (closed and i == 0 and j == n - 1)
            if not adjacent:
                if _segments_intersect(*edges[i], *edges[j]):
                    return True
                continue
            # Adjacent edges share a vertex; they overlap only if they fold back onto each other.
            (a, v), (_, b) = (edges[i], edges[j]) if j == i + 1 else (edges[j], edges[i])
            if cross(v - a, b - v) == 0 and np.dot(v - a, b - v) < 0:
                return True
    return False


def polygon_self_intersects(polygon: PointsLike) -> bool:
    """True if any two edges of the closed polygon cross, touch or overlap (not simple)."""
    return _self_intersects(polygon, closed=True)


def polyline_self_intersects(polyline: PointsLike) -> bool:
    """True if the open polyline crosses, touches or folds back onto itself."""
    return _self_intersects(polyline, closed=False)

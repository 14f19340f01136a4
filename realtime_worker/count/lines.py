"""Crossings of one counting line (a segment or a polyline of >= 2 points).

What one `CrossingEvent` means:

* Sides. Walking the line from its first point to its last, `left` and `right` are the sides a
  viewer of the image sees on the left and on the right of the walking direction (a line drawn
  left-to-right on screen has `left` above it). The config names them, e.g.
  ``sides={"left": "north", "right": "south"}``, and declares one the ``in_side``: a track that
  moves into the in-side crosses IN, one that moves out of it crosses OUT.
* Position. A track is the `anchor` point of its box (default bottom-centre: the feet).
* Side of a track, w.r.t. the whole polyline: the side of the nearest point of the polyline
  (see `geometry.polyline_signed_distance`). One physical crossing near a vertex is therefore
  one side change, never one per segment.
* Extent. An anchor whose projection falls beyond either end of the polyline has no side: the
  track's side becomes unknown. A crossing thus only counts within the line's extent, and
  walking along the line's extension or around its end never counts.
* Hysteresis. A side is only observed at least `hysteresis_px` from the line; closer than that
  the track keeps the side it had. Jitter on the line never counts, and a track that steps
  over and comes back within the band counts nothing.
* Events. A crossing is a change from one observed side to the other, reported at the frame
  that observes the new side. A track's first observed side is not a crossing. Each change
  counts once: A->B->A->B is three events (e.g. IN, OUT, IN).
* Memory. A track's side survives frames in which it is not seen (the tracker coasting through
  an occlusion) and is forgotten `forget_after_s` after the track was last seen.
* Jumps. A tracker can hand a lost track's id to someone else, who then seems to cross where
  nobody walked. Between two observations `dt` seconds apart, a person's anchor moves at most
  `max_speed` box heights per second plus `jump_slack` box heights of detection noise (box
  height: the larger of the two boxes, so perspective is in the units). A track that moves
  farther is taken for a new person: its side is forgotten, and its next observed side is its
  first, not a crossing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

import numpy as np

from realtime_worker.count.geometry import (
    Point,
    as_points,
    polyline_self_intersects,
    polyline_signed_distance,
    segment_length,
)
from realtime_worker.types import Anchor, CrossingEvent, Detections, Direction


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


# A line's default side names: its left side is called "in", so crossing into the left is IN.
DEFAULT_SIDES: Mapping[str, str] = MappingProxyType({"left": "in", "right": "out"})
DEFAULT_IN_SIDE = "in"


def validate_line(
    points: Sequence[Point] | np.ndarray, sides: Mapping[str, str] = DEFAULT_SIDES, in_side: str = DEFAULT_IN_SIDE
) -> Side:
    """The one rule for a counting line, used by the config and by `LineCounter` alike.

    Returns which side (left or right) is the declared in side; raises ValueError naming the
    problem otherwise: fewer than 2 points, a zero-length segment, a polyline that touches
    itself (its sides would be ambiguous), or side names that are not two different names one
    of which is `in_side`.
    """
    points = as_points(points)
    if len(points) < 2:
        raise ValueError(f"a line needs at least 2 points, got {len(points)}")
    for i, (a, b) in enumerate(pairwise(points)):
        if segment_length(a, b) == 0:
            raise ValueError(f"segment {i} has zero length (point {a.tolist()} is repeated)")
    if polyline_self_intersects(points):
        raise ValueError("the polyline crosses or touches itself; its sides are ambiguous")
    if set(sides) != {"left", "right"} or sides["left"] == sides["right"]:
        raise ValueError("sides must give 'left' and 'right' two different names, e.g. {left: north, right: south}")
    side_by_name = {name: Side(key) for key, name in sides.items()}
    if in_side not in side_by_name:
        raise ValueError(f"in side {in_side!r} is not one of the side names {sorted(side_by_name)}")
    return side_by_name[in_side]


@dataclass(slots=True)
class _TrackSide:
    side: Side | None  # None until observed outside the band, and after leaving the extent
    last_seen: float
    anchor: np.ndarray  # where it was last seen, and its box height there
    height: float


class LineCounter:
    """Counts tracks crossing one line, in both directions; state is per track id."""

    def __init__(
        self,
        camera_id: str,
        line_id: str,
        points: Sequence[Point] | np.ndarray,
        *,
        in_side: str = DEFAULT_IN_SIDE,
        sides: Mapping[str, str] = DEFAULT_SIDES,
        anchor: Anchor = Anchor.BOTTOM_CENTER,
        hysteresis_px: float = 6.0,
        forget_after_s: float = 10.0,
        max_speed: float = 2.0,
        jump_slack: float = 0.5,
    ) -> None:
        """`max_speed` (box heights per second) and `jump_slack` (box heights) bound a plausible move."""
        self.camera_id = camera_id
        self.line_id = line_id
        self.anchor = anchor
        self.hysteresis_px = hysteresis_px
        self.forget_after_s = forget_after_s
        self.max_speed = max_speed
        self.jump_slack = jump_slack
        self.points = as_points(points)
        try:
            self._in_side = validate_line(self.points, sides, in_side)
        except ValueError as exc:
            raise ValueError(f"line {line_id!r}: {exc}") from None
        self._tracks: dict[int, _TrackSide] = {}

    def update(self, tracks: Detections, at: float) -> list[CrossingEvent]:
        """Feed one frame's tracks (captured at POSIX time `at`); returns the crossings it completes."""
        if tracks.tracker_id is None:
            raise ValueError("LineCounter counts tracks: pass the tracker's output, not raw detections")
        anchors = tracks.anchors(self.anchor)
        heights = tracks.xyxy[:, 3] - tracks.xyxy[:, 1]
        distance, within = polyline_signed_distance(anchors, self.points)
        events: list[CrossingEvent] = []
        for i, track_id in enumerate(tracks.tracker_id.tolist()):
            state = self._tracks.setdefault(track_id, _TrackSide(None, at, anchors[i], heights[i]))
            if self._jumped(state, anchors[i], heights[i], at):
                state.side = None  # someone else under this id: start afresh
            state.last_seen, state.anchor, state.height = at, anchors[i], heights[i]
            if not within[i]:
                state.side = None  # beyond an end: forget the side, so going around the end never counts
                continue
            if abs(distance[i]) < self.hysteresis_px:
                continue  # in the band: keep the side observed so far
            side = Side.LEFT if distance[i] > 0 else Side.RIGHT
            if state.side is not None and side is not state.side:
                events.append(
                    CrossingEvent(
                        camera_id=self.camera_id,
                        line_id=self.line_id,
                        track_id=track_id,
                        direction=Direction.IN if side is self._in_side else Direction.OUT,
                        class_name=tracks.class_name(i),
                        confidence=float(tracks.confidence[i]),
                        at=at,
                    )
                )
            state.side = side
        self._tracks = {
            track_id: state for track_id, state in self._tracks.items() if at - state.last_seen <= self.forget_after_s
        }
        return events

    def _jumped(self, state: _TrackSide, anchor: np.ndarray, height: float, at: float) -> bool:
        """Farther than a person moves in the time since the track was last seen (see Jumps)."""
        reach = max(state.height, height) * (self.jump_slack + self.max_speed * (at - state.last_seen))
        return float(np.hypot(*(anchor - state.anchor))) > reach

    def reset(self) -> None:
        """Forget every track: the next stream's tracker starts its ids again at 1."""
        self._tracks.clear()

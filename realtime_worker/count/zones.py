"""Visits to one zone (a simple polygon): ENTER/EXIT events, dwell time and occupancy.

What the events and samples mean:

* A track is inside when its `anchor` point (default bottom-centre: the feet) is inside the
  polygon (`geometry.point_in_polygon`).
* ENTER at the first frame a track is seen inside; a track first seen already inside enters
  then too.
* EXIT at the first frame the track is seen outside; or, if the tracker stops reporting it
  while inside, at the first frame at least `exit_grace_s` after it was last seen; or at
  `end_of_footage`, for every track still inside, at the last frame's time.
* dwell_s (on EXIT) = time of the last frame the track was seen inside - time of its ENTER
  frame. A track seen inside on one frame dwells 0 s; the time spent unseen before a grace
  exit, or between the last inside frame and the exit frame, is not dwell.
* Occupancy after a frame = tracks that have entered and not exited, per class (class of the
  track's latest box). Per whole POSIX second (floor of the frame time), a sample holds the
  maximum over that second's frames. A second's samples are emitted when the first frame of a
  later second arrives (or at `end_of_footage`): one per class ever seen in this zone, always
  including 'person', zeros too, so a quiet zone still reports. Seconds without frames have no
  samples.

When a stream ends, and what is emitted then:

* `end_of_footage` is for a file played once to its last frame, and only for that. The footage
  ends there: its visits end with it and its last second is whole. A rerun of the file ends at
  the same frame with the same tracks, so it emits the same exits (same times, dwell and ids)
  and the same last samples: reruns reproduce it exactly and insert nothing twice.
* Anything else emits nothing: a stop (SIGINT/SIGTERM), a crash, or a live camera that gives
  up. The people inside have not left and the open second is not over, so an exit or a sample
  then would be invented: cut-short dwell and a partial peak, stamped at whatever moment the
  stop came, which a rerun of the file cannot reproduce (it emits the real exit as well). The
  visits stay open; a rerun of a file emits them in full.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from realtime_worker.count.geometry import Point, as_points, point_in_polygon, polygon_self_intersects
from realtime_worker.types import Anchor, Detections, OccupancySample, ZoneEvent, ZoneTransition


@dataclass(slots=True)
class _Visit:
    entered_at: float
    last_inside: float
    class_name: str


class ZoneCounter:
    """Tracks visits to one zone and its per-second occupancy; state is per track id."""

    def __init__(
        self,
        camera_id: str,
        zone_id: str,
        polygon: Sequence[Point] | np.ndarray,
        anchor: Anchor = Anchor.BOTTOM_CENTER,
        exit_grace_s: float = 1.0,
    ) -> None:
        self.camera_id = camera_id
        self.zone_id = zone_id
        self.anchor = anchor
        self.exit_grace_s = exit_grace_s
        self.polygon = as_points(polygon)
        if len(self.polygon) < 3:
            raise ValueError(f"zone {zone_id!r}: a polygon needs at least 3 points, got {len(self.polygon)}")
        if polygon_self_intersects(self.polygon):
            raise ValueError(
                f"zone {zone_id!r}: the polygon crosses or touches itself (or repeats a point); "
                "list its corners in order around the edge"
            )
        self._visits: dict[int, _Visit] = {}
        self._classes = {"person"}
        self._second: int | None = None  # the open second, whose peak occupancy is still growing
        self._peak: Counter[str] = Counter()

    def update(self, tracks: Detections, at: float) -> tuple[list[ZoneEvent], list[OccupancySample]]:
        """Feed one frame's tracks (captured at POSIX time `at`).

        Returns the events this frame causes and the samples of the second it closes, if any.
        """
        if tracks.tracker_id is None:
            raise ValueError("ZoneCounter counts tracks: pass the tracker's output, not raw detections")
        # A frame of a later second closes the open one. A frame stamped earlier (wall clock
        # stepped back) is folded into the open second, so no second is ever reported twice.
        second = math.floor(at)
        samples: list[OccupancySample] = []
        if self._second is not None and second > self._second:
            samples = self._close_second(self._second)
        if self._second is None:
            self._second = second

        events: list[ZoneEvent] = []
        inside = point_in_polygon(tracks.anchors(self.anchor), self.polygon)
        seen = tracks.tracker_id.tolist()
        for i, track_id in enumerate(seen):
            visit = self._visits.get(track_id)
            if inside[i]:
                if visit is None:
                    visit = self._visits[track_id] = _Visit(at, at, tracks.class_name(i))
                    self._classes.add(visit.class_name)
                    events.append(self._event(track_id, visit, ZoneTransition.ENTER, at))
                visit.last_inside = at
                visit.class_name = tracks.class_name(i)
            elif visit is not None:
                events.append(self._exit(track_id, at))
        # Tracks the tracker no longer reports have left once the grace period is over.
        for track_id, visit in list(self._visits.items()):
            if track_id not in seen and at - visit.last_inside >= self.exit_grace_s:
                events.append(self._exit(track_id, at))

        self._peak |= Counter(visit.class_name for visit in self._visits.values())
        return events, samples

    def end_of_footage(self, at: float) -> tuple[list[ZoneEvent], list[OccupancySample]]:
        """The file's last frame was at `at`: every track still inside exits, the open second closes.

        The counter then starts afresh, as the next stream's tracker starts its ids again at 1.
        """
        events = [self._exit(track_id, at) for track_id in list(self._visits)]
        samples = self._close_second(self._second) if self._second is not None else []
        return events, samples

    def _exit(self, track_id: int, at: float) -> ZoneEvent:
        return self._event(track_id, self._visits.pop(track_id), ZoneTransition.EXIT, at)

    def _event(self, track_id: int, visit: _Visit, transition: ZoneTransition, at: float) -> ZoneEvent:
        return ZoneEvent(
            camera_id=self.camera_id,
            zone_id=self.zone_id,
            track_id=track_id,
            transition=transition,
            class_name=visit.class_name,
            at=at,
            dwell_s=visit.last_inside - visit.entered_at if transition is ZoneTransition.EXIT else None,
        )

    def _close_second(self, second: int) -> list[OccupancySample]:
        samples = [
            OccupancySample(self.camera_id, self.zone_id, name, second, self._peak[name])
            for name in sorted(self._classes)
        ]
        self._second, self._peak = None, Counter()
        return samples

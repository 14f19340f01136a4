"""Counting: tracks -> line crossings, zone visits and zone occupancy, for one camera.

`CameraCounter` owns every `LineCounter` and `ZoneCounter` of a camera so the worker makes one
call per frame. Counts come out per class without configuration because every event carries
the class name of its track's box. Semantics are documented in `lines` and `zones`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from realtime_worker.count.lines import LineCounter
from realtime_worker.count.zones import ZoneCounter
from realtime_worker.types import CrossingEvent, Detections, OccupancySample, ZoneEvent

__all__ = ["CameraCounter", "CountUpdate", "LineCounter", "ZoneCounter", "require_unique_ids"]


def require_unique_ids(kind: str, ids: Sequence[str]) -> None:
    """Line and zone ids name rows in the database: two alike would merge two counts silently."""
    duplicates = sorted({i for i in ids if list(ids).count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate {kind} id {', '.join(map(repr, duplicates))}")


@dataclass(slots=True)
class CountUpdate:
    """What one frame (or the end of a stream) produced, for the sink."""

    crossings: list[CrossingEvent] = field(default_factory=list)
    zone_events: list[ZoneEvent] = field(default_factory=list)
    occupancy: list[OccupancySample] = field(default_factory=list)


class CameraCounter:
    """All counters of one camera behind one `update` per frame."""

    def __init__(self, camera_id: str, lines: Sequence[LineCounter] = (), zones: Sequence[ZoneCounter] = ()) -> None:
        for kind, counters, ids in (
            ("line", lines, [line.line_id for line in lines]),
            ("zone", zones, [zone.zone_id for zone in zones]),
        ):
            try:
                require_unique_ids(kind, ids)
            except ValueError as exc:
                raise ValueError(f"camera {camera_id!r}: {exc}") from None
            if any(counter.camera_id != camera_id for counter in counters):
                raise ValueError(f"camera {camera_id!r}: a {kind} counter belongs to another camera")
        self.camera_id = camera_id
        self.lines = list(lines)
        self.zones = list(zones)

    def update(self, tracks: Detections, at: float) -> CountUpdate:
        """Feed one frame's tracks (captured at POSIX time `at`) to every counter."""
        crossings = [event for line in self.lines for event in line.update(tracks, at)]
        return self._collect(crossings, [zone.update(tracks, at) for zone in self.zones])

    def end_of_footage(self, at: float) -> CountUpdate:
        """A file's last frame was at `at`: zones close their visits and open second; lines forget
        tracks. Never on a stop: see `zones` for why a stop emits nothing."""
        for line in self.lines:
            line.reset()
        return self._collect([], [zone.end_of_footage(at) for zone in self.zones])

    @staticmethod
    def _collect(
        crossings: list[CrossingEvent], zone_results: list[tuple[list[ZoneEvent], list[OccupancySample]]]
    ) -> CountUpdate:
        return CountUpdate(
            crossings=crossings,
            zone_events=[event for events, _ in zone_results for event in events],
            occupancy=[sample for _, samples in zone_results for sample in samples],
        )

"""Counting results -> rows of the raw hypertables, with deterministic ids.

Rows are plain JSON-able tuples (times as POSIX seconds, ids as strings) so the spool can
store them losslessly; `db.py` turns times into `timestamptz` at write time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from realtime_worker.types import CrossingEvent, OccupancySample, ZoneEvent

# Fixed namespace: event ids must be the same on every machine and every replay.
EVENT_NAMESPACE = uuid.UUID("5b0c6e3a-8d0c-4b7e-9d6c-63616d636f75")

COLUMNS: dict[str, tuple[str, ...]] = {
    "crossing_events": ("time", "event_id", "camera_id", "line_id", "track_run_id", "track_id",
                        "direction", "class_name", "confidence"),
    "zone_events": ("time", "event_id", "camera_id", "zone_id", "track_run_id", "track_id",
                    "transition", "class_name", "dwell_s"),
    "zone_occupancy": ("time", "camera_id", "zone_id", "class_name", "occupancy"),
    "stream_health": ("time", "camera_id", "input_fps", "processed_fps", "dropped_frames",
                      "decode_ms_p50", "decode_ms_p95", "inference_ms_p50", "inference_ms_p95",
                      "e2e_ms_p50", "e2e_ms_p95", "bitrate_kbps", "jitter_ms", "reconnects",
                      "queue_depth", "quality"),
    "platform_events": ("time", "event_id", "kind", "severity", "camera_id", "message", "details"),
}

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class TableRow:
    table: str
    values: Row


def event_id(*parts: object) -> str:
    """A UUIDv5 of the event's identity: replaying the same input yields the same id."""
    return str(uuid.uuid5(EVENT_NAMESPACE, "|".join(str(part) for part in parts)))


def crossing_row(event: CrossingEvent, track_run_id: str) -> TableRow:
    at_us = round(event.at * 1e6)
    return TableRow("crossing_events", (
        event.at,
        event_id(event.camera_id, event.line_id, track_run_id, event.track_id, event.direction, at_us),
        event.camera_id, event.line_id, track_run_id, event.track_id, str(event.direction),
        event.class_name, round(float(event.confidence), 4),
    ))


def zone_event_row(event: ZoneEvent, track_run_id: str) -> TableRow:
    at_us = round(event.at * 1e6)
    return TableRow("zone_events", (
        event.at,
        event_id(event.camera_id, event.zone_id, track_run_id, event.track_id, event.transition, at_us),
        event.camera_id, event.zone_id, track_run_id, event.track_id, str(event.transition),
        event.class_name, event.dwell_s,
    ))


def occupancy_row(sample: OccupancySample) -> TableRow:
    return TableRow("zone_occupancy", (
        float(sample.second), sample.camera_id, sample.zone_id, sample.class_name, sample.occupancy,
    ))

"""Counting results, health samples and platform events -> rows of the raw hypertables.

Every row the worker writes is built here, by column name (`camcount.db.schema` names the
columns once). Rows are plain JSON-able tuples in COPY order (times as POSIX seconds, ids as
strings) so the spool stores them losslessly; `db.py` turns them into database values.
Event ids are deterministic: replaying the same input yields the same ids, so replays insert
nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from camcount.db.schema import RAW_TABLES
from realtime_worker.types import CrossingEvent, HealthSample, OccupancySample, PlatformEvent, ZoneEvent

# Fixed namespace: event ids must be the same on every machine and every replay.
EVENT_NAMESPACE = uuid.UUID("5b0c6e3a-8d0c-4b7e-9d6c-63616d636f75")

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LeaseStamp:
    """Fleet mode: the lease epoch a row was produced under, and when (the database's clock,
    POSIX seconds). The sink writes the row only if that epoch had not expired by then
    (`realtime_worker/fleet/fencing.py`); it is spooled with the row, never a column."""

    epoch: int
    at: float


@dataclass(frozen=True, slots=True)
class TableRow:
    table: str
    values: Row
    lease: LeaseStamp | None = None


def table_row(table: str, **values: Any) -> TableRow:
    """A row of `raw.<table>` from its values by column name; a missing or unknown column is a bug."""
    columns = RAW_TABLES[table].columns
    if values.keys() != set(columns):
        missing, unknown = set(columns) - values.keys(), values.keys() - set(columns)
        raise ValueError(f"raw.{table} row: missing columns {sorted(missing)}, unknown columns {sorted(unknown)}")
    return TableRow(table, tuple(values[column] for column in columns))


def event_id(*parts: object) -> str:
    """A UUIDv5 of the event's identity: replaying the same input yields the same id."""
    return str(uuid.uuid5(EVENT_NAMESPACE, "|".join(str(part) for part in parts)))


def crossing_row(event: CrossingEvent, track_run_id: str) -> TableRow:
    at_us = round(event.at * 1e6)
    return table_row(
        "crossing_events", time=event.at,
        event_id=event_id(event.camera_id, event.line_id, track_run_id, event.track_id, event.direction, at_us),
        camera_id=event.camera_id, line_id=event.line_id, track_run_id=track_run_id, track_id=event.track_id,
        direction=str(event.direction), class_name=event.class_name, confidence=round(float(event.confidence), 4),
    )


def zone_event_row(event: ZoneEvent, track_run_id: str) -> TableRow:
    at_us = round(event.at * 1e6)
    return table_row(
        "zone_events", time=event.at,
        event_id=event_id(event.camera_id, event.zone_id, track_run_id, event.track_id, event.transition, at_us),
        camera_id=event.camera_id, zone_id=event.zone_id, track_run_id=track_run_id, track_id=event.track_id,
        transition=str(event.transition), class_name=event.class_name, dwell_s=event.dwell_s,
    )


def occupancy_row(sample: OccupancySample) -> TableRow:
    return table_row(
        "zone_occupancy", time=float(sample.second), camera_id=sample.camera_id, zone_id=sample.zone_id,
        class_name=sample.class_name, occupancy=sample.occupancy,
    )


def health_row(sample: HealthSample) -> TableRow:
    values = asdict(sample)
    return table_row("stream_health", time=values.pop("at"), **values)


def platform_event_row(event: PlatformEvent) -> TableRow:
    """Platform events happen once each (a random id): a replay of the spool still inserts each once."""
    return table_row(
        "platform_events", time=event.at, event_id=str(uuid.uuid4()), kind=event.kind,
        severity=str(event.severity), camera_id=event.camera_id, message=event.message, details=event.details,
    )

"""The raw tables the worker writes, named once, next to the migrations that create them.

The sink builds rows from these columns (by name), the pipelines observe and archive these
tables, and the CLI offers them: a table or column added in a migration is added here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from camcount.errors import DatabaseError


@dataclass(frozen=True, slots=True)
class RawTable:
    """One `raw.*` hypertable: its writable columns in COPY order, and what it holds."""

    name: str
    columns: tuple[str, ...]
    description: str
    json_columns: frozenset[str] = frozenset()  # stored as jsonb: serialised at write time
    time_column: str = "time"  # POSIX seconds in the spool, timestamptz in the database
    # Nullable columns added by a later migration, last in `columns`: rows spooled or dead-lettered
    # by an older worker lack them, and are read back with NULL there (`widen`).
    late_columns: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"raw.{self.name}"

    def widen(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """A stored row's values in today's COPY order: NULL for the late columns an older worker
        did not write. ValueError when they are no row of this table."""
        missing = len(self.columns) - len(values)
        if not 0 <= missing <= len(self.late_columns):
            raise ValueError(f"{len(values)} values for the {len(self.columns)} columns of raw.{self.name}")
        return (*values, *(None,) * missing)


RAW_TABLES: dict[str, RawTable] = {
    table.name: table
    for table in (
        RawTable(
            "crossing_events",
            ("time", "event_id", "camera_id", "line_id", "track_run_id", "track_id", "direction", "class_name",
             "confidence"),
            "Line crossings (in/out per line's declared in side), one row per event.",
        ),
        RawTable(
            "zone_events",
            ("time", "event_id", "camera_id", "zone_id", "track_run_id", "track_id", "transition", "class_name",
             "dwell_s"),
            "Zone enter/exit events, with dwell on exit.",
        ),
        RawTable(
            "zone_occupancy",
            ("time", "camera_id", "zone_id", "class_name", "occupancy"),
            "People inside each zone, one sample per camera, zone, class and second.",
        ),
        RawTable(
            "stream_health",
            ("time", "camera_id", "input_fps", "processed_fps", "dropped_frames", "decode_ms_p50", "decode_ms_p95",
             "inference_ms_p50", "inference_ms_p95", "e2e_ms_p50", "e2e_ms_p95", "bitrate_kbps", "jitter_ms",
             "reconnects", "queue_depth", "quality", "sink_backlog"),
            "Per-camera stream health every `health.interval_s` (ops.cameras.health_interval_s): fps, latencies, "
            "queue depth, quality, and the worker's sink backlog (rows in memory plus in the spool).",
            late_columns=("sink_backlog",),  # migration 0045
        ),
        RawTable(
            "platform_events",
            ("time", "event_id", "kind", "severity", "camera_id", "message", "details"),
            "Platform log: cameras down/up, corrupt frames, and the worker's own life.",
            json_columns=frozenset({"details"}),
        ),
    )
}
RAW_TABLE_NAMES: tuple[str, ...] = tuple(RAW_TABLES)

# What the worker reads and writes from its first frame: a database without them was never migrated.
WORKER_TABLES: tuple[str, ...] = ("ops.sites", "ops.cameras", *(table.qualified for table in RAW_TABLES.values()))


def require_schema(conn: psycopg.Connection) -> None:
    """Fail with the remedy, before anything is written, when the database was never migrated."""
    missing = [name for (name,) in conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", (list(WORKER_TABLES),))]
    if missing:
        raise DatabaseError(f"database {conn.info.dbname} has no camcount schema ({', '.join(missing)} missing); "
                            "run `camcount db migrate`")

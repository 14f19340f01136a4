"""Retention: per-table windows, enforced by dropping whole chunks through ops.drop_old_chunks()
(camcount_pipelines may not call drop_chunks itself: docs/security.md).

Raw chunks are dropped only when every day in them is in the verified archive, exactly as the
database holds it (camcount_pipelines.archive.parquet.drop_archived_chunk); anything else is
refused and listed. Hourly rollups are derived data kept for a year (daily and coarser are kept
forever); resolved alerts are deleted after their window. A dry run lists what would go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import psycopg

from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.archive import parquet
from camcount_pipelines.rollups.compute import HOURLY_SOURCES

DEFAULT_WINDOWS_DAYS = {
    "raw.crossing_events": 30,
    "raw.zone_events": 30,
    "raw.zone_occupancy": 14,
    "raw.stream_health": 14,
    "raw.platform_events": 90,
    **{f"rollup.{table}": 400 for table in HOURLY_SOURCES},
    "ops.alerts": 180,
}

_SHOW_CHUNKS = "SELECT show_chunks(%s::regclass, older_than => %s)"
_DROP_CHUNKS = "SELECT ops.drop_old_chunks(%s::regclass, %s)"

# A raw table's cutoff -> the [newer_than, older_than) window of chunks to consider.
ChunkWindow = Callable[[datetime], tuple[datetime, datetime | None]]


@dataclass
class RetentionResult:
    dropped: list[str] = field(default_factory=list)  # chunk names
    would_drop: list[str] = field(default_factory=list)  # dry run: chunk names
    refused: dict[str, list[date]] = field(default_factory=dict)  # raw chunk -> days not archived as they stand


def enforce_retention(
    conn: psycopg.Connection, windows_days: Mapping[str, int], now: datetime, dry_run: bool, window: ChunkWindow
) -> RetentionResult:
    """Drop (or, dry, list) the chunks past each table's window; raw ones only once archived."""
    result = RetentionResult()
    for table in RAW_TABLE_NAMES:
        days = windows_days.get(f"raw.{table}")
        if days is None:
            continue
        older_than, newer_than = window(now - timedelta(days=days))
        for chunk in parquet.old_chunks(conn, table, older_than, newer_than):
            check = parquet.unarchived_days if dry_run else parquet.drop_archived_chunk
            missing = check(conn, chunk)
            if missing:
                result.refused[chunk.name] = missing
            else:
                (result.would_drop if dry_run else result.dropped).append(chunk.name)
    for table in HOURLY_SOURCES:
        days = windows_days.get(f"rollup.{table}")
        if days is None:
            continue
        query = _SHOW_CHUNKS if dry_run else _DROP_CHUNKS
        chunks = conn.execute(query, (f"rollup.{table}", now - timedelta(days=days))).fetchall()
        (result.would_drop if dry_run else result.dropped).extend(name for (name,) in chunks)
    alert_days = windows_days.get("ops.alerts")
    if alert_days is not None and not dry_run:
        conn.execute("DELETE FROM ops.alerts WHERE resolved_at < %s", (now - timedelta(days=alert_days),))
    conn.commit()
    return result

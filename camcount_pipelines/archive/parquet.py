"""The compression tier: raw chunks -> zstd Parquet, one file per table and UTC day, verified.

TimescaleDB's Apache edition has no native compression, so old raw data moves to Parquet under
`$CAMCOUNT_HOME/archive/<table>/<YYYY-MM-DD>.parquet` (typically 5-15x smaller than heap rows).
A file counts as archived only after it was read back and matched a fresh read of the database
(row count and a SHA-256 over the canonical CSV of both), and ops.archive_manifest records it.
`drop_archived_chunk` drops a chunk only while the database still holds exactly what the
manifest says, under the ingest lock, so late rows that arrived after archiving are never lost.

Reading back (also `read_archive` below, and `camcount archive query`):

    import polars as pl
    pl.scan_parquet(".camcount/archive/crossing_events/*.parquet").filter(pl.col("camera_id") == "cam1")

    -- DuckDB
    SELECT camera_id, count(*) FROM '.camcount/archive/crossing_events/*.parquet' GROUP BY 1;
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

from camcount.db.schema import RAW_TABLE_NAMES
from camcount.settings import camcount_home

# Database type -> (SELECT expression template, polars dtype read from CSV, final dtype).
_TYPES = {
    "timestamp with time zone": ("(extract(epoch FROM {c}) * 1000000)::bigint", pl.Int64, pl.Datetime("us", "UTC")),
    "uuid": ("{c}::text", pl.Utf8, pl.Utf8),
    "text": ("{c}", pl.Utf8, pl.Utf8),
    "jsonb": ("{c}::text", pl.Utf8, pl.Utf8),
    "bigint": ("{c}", pl.Int64, pl.Int64),
    "integer": ("{c}", pl.Int32, pl.Int32),
    "real": ("{c}", pl.Float32, pl.Float32),
    "double precision": ("{c}", pl.Float64, pl.Float64),
}


@dataclass(frozen=True)
class Chunk:
    table: str  # raw table name, e.g. "crossing_events"
    name: str  # schema-qualified chunk table
    start: datetime
    end: datetime

    def days(self) -> list[date]:
        first, last = self.start.astimezone(UTC).date(), self.end.astimezone(UTC).date()
        return [first + timedelta(days=n) for n in range((last - first).days)]


@dataclass(frozen=True)
class ArchivedDay:
    table: str
    day: date
    path: Path
    rows: int
    file_bytes: int
    db_bytes: int


def archive_root() -> Path:
    return camcount_home() / "archive"


def old_chunks(conn: psycopg.Connection, table: str, older_than: datetime, newer_than: datetime | None = None
               ) -> list[Chunk]:
    """raw.<table> chunks that end at or before `older_than` (and start at or after `newer_than`)."""
    rows = conn.execute(
        """SELECT chunk_schema || '.' || chunk_name, range_start, range_end
           FROM timescaledb_information.chunks
           WHERE hypertable_schema = 'raw' AND hypertable_name = %(t)s AND range_end <= %(old)s
             AND (%(new)s::timestamptz IS NULL OR range_start >= %(new)s)
           ORDER BY range_start""",
        {"t": table, "old": older_than, "new": newer_than},
    ).fetchall()
    return [Chunk(table, name, start, end) for name, start, end in rows]


def archive_old_chunks(
    conn: psycopg.Connection, older_than: datetime, newer_than: datetime | None = None
) -> list[ArchivedDay]:
    """Archive every UTC day of the old raw chunks that the manifest lacks or that changed since."""
    archived = []
    for table in RAW_TABLE_NAMES:
        for chunk in old_chunks(conn, table, older_than, newer_than):
            archived += [archive_day(conn, table, day) for day in unarchived_days(conn, chunk)]
    return archived


def archive_day(conn: psycopg.Connection, table: str, day: date) -> ArchivedDay:
    frame = _read_day(conn, table, day)
    path = archive_root() / table / f"{day.isoformat()}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    frame.write_parquet(partial, compression="zstd", compression_level=9, statistics=True)
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, path)

    # Verify: what is on disk against a second, independent read of the database.
    on_disk, in_db = pl.read_parquet(path), _read_day(conn, table, day)
    if on_disk.height != in_db.height or checksum(on_disk) != checksum(in_db):
        path.unlink()
        raise RuntimeError(f"archive of raw.{table} {day} does not match the database; file removed")
    bounds = _day_bounds(day)
    db_bytes, max_seq = conn.execute(
        sql.SQL(
            "SELECT coalesce(sum(pg_column_size(t.*)), 0), max(ingest_seq) FROM {} t "
            "WHERE time >= %s AND time < %s"
        ).format(sql.Identifier("raw", table)),
        bounds,
    ).fetchone()
    archived = ArchivedDay(table, day, path, in_db.height, path.stat().st_size, db_bytes)
    conn.execute(
        """INSERT INTO ops.archive_manifest (table_name, day, path, rows, max_ingest_seq, checksum,
                                             file_bytes, db_bytes, verified_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())
           ON CONFLICT (table_name, day) DO UPDATE SET
               path = EXCLUDED.path, rows = EXCLUDED.rows, max_ingest_seq = EXCLUDED.max_ingest_seq,
               checksum = EXCLUDED.checksum, file_bytes = EXCLUDED.file_bytes, db_bytes = EXCLUDED.db_bytes,
               archived_at = now(), verified_at = now()""",
        (table, day, str(path), archived.rows, max_seq, checksum(on_disk), archived.file_bytes, db_bytes),
    )
    conn.commit()
    return archived


def unarchived_days(conn: psycopg.Connection, chunk: Chunk) -> list[date]:
    """Days of the chunk whose rows differ from the manifest (missing, or changed since archiving)."""
    rows = conn.execute(
        sql.SQL(
            """SELECT d::date FROM generate_series(%(lo)s::date, %(hi)s::date - 1, interval '1 day') AS d
               LEFT JOIN ops.archive_manifest m ON m.table_name = %(t)s AND m.day = d::date
               LEFT JOIN (SELECT (time AT TIME ZONE 'UTC')::date AS day, count(*) AS n, max(ingest_seq) AS seq
                          FROM {table} WHERE time >= %(start)s AND time < %(end)s GROUP BY 1) db
                 ON db.day = d::date
               WHERE m.day IS NULL OR m.rows <> coalesce(db.n, 0) OR m.max_ingest_seq IS DISTINCT FROM db.seq
               ORDER BY 1"""
        ).format(table=sql.Identifier("raw", chunk.table)),
        {"lo": chunk.days()[0], "hi": chunk.days()[-1] + timedelta(days=1), "t": chunk.table,
         "start": chunk.start, "end": chunk.end},
    ).fetchall()
    return [day for (day,) in rows]


def drop_archived_chunk(conn: psycopg.Connection, chunk: Chunk) -> list[date]:
    """Drop the chunk if every day of it is archived as it stands; returns the days that block it.

    The ingest watermark takes the ingest lock exclusively, so no insert lands between the check
    and the drop; a short lock timeout keeps a long reader of the chunk from stalling ingest.
    camcount_pipelines may drop chunks only through ops.drop_old_chunks() (migration 0020).
    """
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '5s'")
        conn.execute("SELECT raw.ingest_high_watermark()")
        missing = unarchived_days(conn, chunk)
        if not missing:
            conn.execute(
                "SELECT ops.drop_old_chunks(%s::regclass, %s::timestamptz, %s::timestamptz)",
                (f"raw.{chunk.table}", chunk.end, chunk.start),
            )
    return missing


def read_archive(table: str, start: datetime, end: datetime, root: Path | None = None) -> pl.DataFrame:
    """Archived raw.<table> rows with start <= time < end, in the database's column order."""
    folder = (root or archive_root()) / table
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    files = [
        folder / f"{first + timedelta(days=n)}.parquet"
        for n in range((last - first).days + 1)
        if (folder / f"{first + timedelta(days=n)}.parquet").exists()
    ]
    if not files:
        return pl.DataFrame()
    return (
        pl.scan_parquet(files)
        .filter((pl.col("time") >= start) & (pl.col("time") < end))
        .sort("time", "ingest_seq")
        .collect()
    )


def checksum(frame: pl.DataFrame) -> str:
    """SHA-256 of the frame as CSV: the same rows in the same order give the same digest."""
    return hashlib.sha256(frame.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S%.6f").encode()).hexdigest()


def _read_day(conn: psycopg.Connection, table: str, day: date) -> pl.DataFrame:
    """One UTC day of raw.<table> via COPY, typed exactly as stored (microsecond UTC timestamps)."""
    columns = conn.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'raw' AND table_name = %s ORDER BY ordinal_position""",
        (table,),
    ).fetchall()
    select = sql.SQL(", ").join(
        sql.SQL(_TYPES[kind][0]).format(c=sql.Identifier(name)) + sql.SQL(" AS ") + sql.Identifier(name)
        for name, kind in columns
    )
    query = sql.SQL(
        "COPY (SELECT {select} FROM {table} WHERE time >= {lo} AND time < {hi} ORDER BY time, ingest_seq) "
        "TO STDOUT (FORMAT csv)"
    ).format(
        select=select, table=sql.Identifier("raw", table),
        lo=sql.Literal(_day_bounds(day)[0]), hi=sql.Literal(_day_bounds(day)[1]),
    )
    buffer = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for block in copy:
            buffer.write(block)
    schema = {name: _TYPES[kind][1] for name, kind in columns}
    data = buffer.getvalue()
    frame = pl.read_csv(data, has_header=False, schema=schema) if data else pl.DataFrame(schema=schema)
    return frame.with_columns(
        pl.from_epoch(name, time_unit="us").dt.replace_time_zone("UTC")
        for name, kind in columns if kind == "timestamp with time zone"
    )


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)

"""Rollup computations, independent of Dagster so the bench and tests can call them directly
(the assets in camcount_pipelines.rollups.assets are thin wrappers).

Every rollup of a window is delete + insert in ONE transaction, serialized per table by an
advisory lock: a rerun gives identical rows and two concurrent runs cannot interleave. A daily or
calendar rollup also waits for in-flight rollups of the table it reads (the same lock, shared), so
a day rolled up after an hour's rollup began includes that hour. Hourly rollups read raw rows with
ingest_seq <= raw.ingest_high_watermark() taken just before the transaction: every such row is
committed, so the hour is complete up to that seq, which rollup.hour_watermarks records for the
real-time counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from camcount_pipelines.watermark import high_watermark

HOURLY_SOURCES = {
    "crossings_hourly": "crossing_events",
    "occupancy_hourly": "zone_occupancy",
    "dwell_hourly": "zone_events",
    "stream_health_hourly": "stream_health",
}
DAILY_SOURCES = {
    "crossings_daily": "crossings_hourly",
    "occupancy_daily": "occupancy_hourly",
    "dwell_daily": "dwell_hourly",
    "stream_health_daily": "stream_health_hourly",
}
CALENDAR_UNITS = {"crossings_weekly": "week", "crossings_monthly": "month"}

_HOURLY_SELECT = {
    "crossings_hourly": """
        (bucket, camera_id, line_id, direction, class_name, crossings, first_at, last_at)
        SELECT time_bucket('1 hour', time), camera_id, line_id, direction, class_name,
               count(*), min(time), max(time)""",
    "occupancy_hourly": """
        (bucket, camera_id, zone_id, class_name, samples, occupancy_sum, occupancy_sqsum,
         avg_occupancy, min_occupancy, max_occupancy, stddev_occupancy, p95_occupancy,
         first_occupancy, last_occupancy)
        SELECT time_bucket('1 hour', time), camera_id, zone_id, class_name,
               count(*), sum(occupancy), sum(occupancy::bigint * occupancy), avg(occupancy),
               min(occupancy), max(occupancy), stddev_samp(occupancy),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY occupancy),
               first(occupancy, time), last(occupancy, time)""",
    "dwell_hourly": """
        (bucket, camera_id, zone_id, class_name, entries, exits, dwell_sum_s, dwell_mean_s, dwell_max_s)
        SELECT time_bucket('1 hour', time), camera_id, zone_id, class_name,
               count(*) FILTER (WHERE transition = 'enter'),
               count(*) FILTER (WHERE transition = 'exit'),
               coalesce(sum(dwell_s) FILTER (WHERE transition = 'exit'), 0),
               avg(dwell_s) FILTER (WHERE transition = 'exit'),
               max(dwell_s) FILTER (WHERE transition = 'exit')""",
    "stream_health_hourly": """
        (bucket, camera_id, samples, e2e_ms_p95_avg, e2e_ms_p95_max, queue_depth_max,
         dropped_frames, reconnects, quality_avg)
        SELECT time_bucket('1 hour', time), camera_id, count(*), avg(e2e_ms_p95), max(e2e_ms_p95),
               max(queue_depth), sum(dropped_frames), sum(reconnects), avg(quality)""",
}
_HOURLY_GROUP = {
    "crossings_hourly": "1, 2, 3, 4, 5",
    "occupancy_hourly": "1, 2, 3, 4",
    "dwell_hourly": "1, 2, 3, 4",
    "stream_health_hourly": "1, 2",
}

# Each camera's local days as UTC instants [lo, hi): 23 or 25 hours long on DST days. A camera
# samples its health every health_interval_s, as its worker's config says (the registry records
# it), so it owes one sample per interval of the day, or of the part already past for today.
_LOCAL_DAYS = """
    WITH local_days AS (
        SELECT day, camera_id, site_id, lo, hi,
               floor(greatest(extract(epoch FROM least(hi, now()) - lo), 0) / health_interval_s)::bigint
                   AS expected_health_samples
        FROM (SELECT d::date AS day, c.camera_id, s.site_id, c.health_interval_s,
                     d::timestamp AT TIME ZONE s.timezone AS lo,
                     (d::date + 1)::timestamp AT TIME ZONE s.timezone AS hi
              FROM generate_series(%(first)s::date, %(last)s::date - 1, interval '1 day') AS d
              CROSS JOIN ops.cameras c JOIN ops.sites s USING (site_id)) AS days
    )
"""
# The hours of each camera's local days: a daily row exists where the day has data, except that
# health has a row for every day from the camera's first sample to the last day its site reported,
# so a camera dark all day while its neighbours ran shows 0 samples instead of no row.
_HOURS_OF_DAY = "JOIN {source} h ON h.camera_id = d.camera_id AND h.bucket >= d.lo AND h.bucket < d.hi"
_DAILY_HOURS = {
    "stream_health_daily": f"""LEFT {_HOURS_OF_DAY}
        WHERE EXISTS (SELECT 1 FROM {{source}} f WHERE f.camera_id = d.camera_id AND f.bucket < d.hi)
          AND EXISTS (SELECT 1 FROM {{source}} l JOIN ops.cameras lc USING (camera_id)
                      WHERE lc.site_id = d.site_id AND l.bucket >= d.lo)""",
}
_DAILY_SELECT = {
    "crossings_daily": """
        (day, site_id, camera_id, line_id, direction, class_name, crossings, first_at, last_at)
        SELECT d.day, d.site_id, h.camera_id, h.line_id, h.direction, h.class_name,
               sum(h.crossings), min(h.first_at), max(h.last_at)""",
    "occupancy_daily": """
        (day, site_id, camera_id, zone_id, class_name, samples, avg_occupancy, min_occupancy,
         max_occupancy, stddev_occupancy, p95_hourly_max, first_occupancy, last_occupancy)
        SELECT d.day, d.site_id, h.camera_id, h.zone_id, h.class_name, sum(h.samples),
               sum(h.occupancy_sum)::double precision / sum(h.samples),
               min(h.min_occupancy), max(h.max_occupancy),
               CASE WHEN sum(h.samples) > 1 THEN sqrt(greatest(0,
                   (sum(h.occupancy_sqsum) - sum(h.occupancy_sum)::double precision ^ 2 / sum(h.samples))
                   / (sum(h.samples) - 1))) END,
               max(h.p95_occupancy), first(h.first_occupancy, h.bucket), last(h.last_occupancy, h.bucket)""",
    "dwell_daily": """
        (day, site_id, camera_id, zone_id, class_name, entries, exits, dwell_sum_s, dwell_mean_s,
         dwell_max_s)
        SELECT d.day, d.site_id, h.camera_id, h.zone_id, h.class_name, sum(h.entries), sum(h.exits),
               sum(h.dwell_sum_s), sum(h.dwell_sum_s) / nullif(sum(h.exits), 0), max(h.dwell_max_s)""",
    "stream_health_daily": """
        (day, site_id, camera_id, samples, expected_samples, completeness, e2e_ms_p95_max,
         queue_depth_max, dropped_frames, reconnects)
        SELECT d.day, d.site_id, d.camera_id, coalesce(sum(h.samples), 0), d.expected_health_samples,
               coalesce(sum(h.samples), 0) / greatest(d.expected_health_samples, 1)::double precision,
               max(h.e2e_ms_p95_max), coalesce(max(h.queue_depth_max), 0), coalesce(sum(h.dropped_frames), 0),
               coalesce(sum(h.reconnects), 0)""",
}
_DAILY_GROUP = {
    "crossings_daily": "1, 2, 3, 4, 5, 6",
    "occupancy_daily": "1, 2, 3, 4, 5",
    "dwell_daily": "1, 2, 3, 4, 5",
    "stream_health_daily": "1, 2, 3, d.expected_health_samples",
}


@dataclass(frozen=True)
class RollupResult:
    table: str
    rows: int
    ingest_seq: int | None = None  # hourly rollups: complete up to this ingest_seq


def rollup_hours(conn: psycopg.Connection, table: str, start: datetime, end: datetime) -> RollupResult:
    """Recompute rollup.<table> for the UTC hours in [start, end) from raw."""
    seq = high_watermark(conn)
    insert = sql.SQL(
        "INSERT INTO {table} {select} FROM {source} "
        "WHERE time >= %(lo)s AND time < %(hi)s AND ingest_seq <= %(seq)s GROUP BY {group}"
    ).format(
        table=sql.Identifier("rollup", table),
        select=sql.SQL(_HOURLY_SELECT[table]),
        source=sql.Identifier("raw", HOURLY_SOURCES[table]),
        group=sql.SQL(_HOURLY_GROUP[table]),
    )
    params = {"lo": start, "hi": end, "seq": seq}
    with conn.transaction():
        rows = _replace(conn, table, "bucket", insert, params)
        if table == "crossings_hourly":
            conn.execute(
                """INSERT INTO rollup.hour_watermarks (bucket, rollup_seq, computed_at)
                   SELECT h, %(seq)s, now()
                   FROM generate_series(%(lo)s::timestamptz, %(hi)s::timestamptz - interval '1 hour',
                                        interval '1 hour') AS h
                   ON CONFLICT (bucket) DO UPDATE
                   SET rollup_seq = EXCLUDED.rollup_seq, computed_at = EXCLUDED.computed_at""",
                params,
            )
    return RollupResult(table, rows, seq)


def rollup_days(conn: psycopg.Connection, table: str, first: date, last: date) -> RollupResult:
    """Recompute rollup.<table> for local days [first, last) of every site from its hourly rollup."""
    source = sql.Identifier("rollup", DAILY_SOURCES[table])
    insert = sql.SQL("{local_days} INSERT INTO {table} {select} FROM local_days d {hours} GROUP BY {group}").format(
        local_days=sql.SQL(_LOCAL_DAYS),
        table=sql.Identifier("rollup", table),
        select=sql.SQL(_DAILY_SELECT[table]),
        hours=sql.SQL(_DAILY_HOURS.get(table, _HOURS_OF_DAY)).format(source=source),
        group=sql.SQL(_DAILY_GROUP[table]),
    )
    params = {"first": first, "last": last, "lo": first, "hi": last}
    with conn.transaction():
        rows = _replace(conn, table, "day", insert, params, reads=DAILY_SOURCES[table])
    return RollupResult(table, rows)


def rollup_calendar(conn: psycopg.Connection, table: str, first: date, last: date) -> RollupResult:
    """Recompute weekly or monthly crossings for periods in [first, last) from the local days."""
    unit = CALENDAR_UNITS[table]
    insert = sql.SQL(
        """INSERT INTO {table} ({unit}, site_id, camera_id, line_id, direction, class_name,
                                crossings, first_at, last_at)
           SELECT date_trunc({unit_name}, day)::date, site_id, camera_id, line_id, direction,
                  class_name, sum(crossings), min(first_at), max(last_at)
           FROM rollup.crossings_daily
           WHERE day >= %(lo)s AND day < %(hi)s
           GROUP BY 1, 2, 3, 4, 5, 6"""
    ).format(table=sql.Identifier("rollup", table), unit=sql.Identifier(unit), unit_name=sql.Literal(unit))
    with conn.transaction():
        rows = _replace(conn, table, unit, insert, {"lo": first, "hi": last}, reads="crossings_daily")
    return RollupResult(table, rows)


def stale_hours(conn: psycopg.Connection, seen_before: datetime) -> list[tuple[datetime, int]]:
    """UTC hours holding rows their latest hourly rollup did not cover, with the newest such
    ingest_seq, among the hours the ingest sensor last touched before `seen_before`."""
    return conn.execute(
        """SELECT bucket, touched_seq FROM rollup.hour_watermarks
           WHERE touched_seq > coalesce(rollup_seq, 0) AND touched_at < %s ORDER BY bucket""",
        (seen_before,),
    ).fetchall()


def _replace(
    conn: psycopg.Connection, table: str, time_column: str, insert: sql.Composed, params: dict,
    reads: str | None = None,
) -> int:
    """Delete the window [lo, hi) and insert its recomputation (inside the caller's transaction),
    after rollups in flight of the rollup table it `reads` have committed."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rollup.{table}",))
    if reads:
        conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (f"rollup.{reads}",))
    conn.execute(
        sql.SQL("DELETE FROM {table} WHERE {col} >= %(lo)s AND {col} < %(hi)s").format(
            table=sql.Identifier("rollup", table), col=sql.Identifier(time_column)
        ),
        params,
    )
    return conn.execute(insert, params).rowcount

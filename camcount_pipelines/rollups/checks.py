"""The `matches_raw` check of each hourly rollup, run inside its materialization: per hour, the
rollup's total equals the raw rows it covers. Rollup freshness is a FreshnessPolicy on the hourly
assets (camcount_pipelines.rollups.assets), evaluated by the daemon."""

from datetime import datetime

import dagster as dg
import psycopg
from psycopg import sql

from camcount_pipelines.rollups.compute import HOURLY_SOURCES

# What one raw row adds to each hourly rollup's own total.
_ROLLUP_TOTAL = {
    "crossings_hourly": "crossings",
    "occupancy_hourly": "samples",
    "dwell_hourly": "entries + exits",
    "stream_health_hourly": "samples",
}


def rollup_matches_raw(
    conn: psycopg.Connection, table: str, start: datetime, end: datetime, seq: int
) -> dg.AssetCheckResult:
    """Per hour of [start, end): the rollup's total equals the raw rows it covers (seq <= watermark)."""
    # ::bigint: sum(bigint) is numeric, a Decimal that JSON metadata refuses.
    query = sql.SQL(
        """SELECT coalesce(r.bucket, w.bucket), r.n, w.n FROM
             (SELECT time_bucket('1 hour', time) AS bucket, count(*) AS n FROM {source}
              WHERE time >= %(lo)s AND time < %(hi)s AND ingest_seq <= %(seq)s GROUP BY 1) r
           FULL JOIN
             (SELECT bucket, sum({total})::bigint AS n FROM {rollup}
              WHERE bucket >= %(lo)s AND bucket < %(hi)s GROUP BY 1) w USING (bucket)
           WHERE r.n IS DISTINCT FROM w.n ORDER BY 1"""
    ).format(
        source=sql.Identifier("raw", HOURLY_SOURCES[table]),
        total=sql.SQL(_ROLLUP_TOTAL[table]),
        rollup=sql.Identifier("rollup", table),
    )
    mismatches = conn.execute(query, {"lo": start, "hi": end, "seq": seq}).fetchall()
    return dg.AssetCheckResult(
        check_name="matches_raw",
        passed=not mismatches,
        metadata={
            "mismatched_hours": len(mismatches),
            "first_mismatches": dg.MetadataValue.json(
                [{"hour": h.isoformat(), "raw": raw, "rollup": rolled} for h, raw, rolled in mismatches[:5]]
            ),
        },
    )

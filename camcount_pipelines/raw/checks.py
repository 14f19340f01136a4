"""Checks on the raw tables: what an operator must trust before reading a number.

- no future timestamps in raw (clock skew on a camera box would poison "to date" counters)
- health-sample gaps and stream freshness on raw/stream_health

Rollups check themselves against raw (camcount_pipelines.rollups.checks), and the active alerts
show on raw/stream_health too (camcount_pipelines.alerts.checks).
"""

from datetime import timedelta

import dagster as dg
from psycopg import sql

from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.resources import TimescaleResource

CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)
HEALTH_STALE_AFTER = timedelta(minutes=5)
HEALTH_GAP = timedelta(minutes=2)


def _no_future_rows_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(table),
        name="no_future_timestamps",
        description=f"No raw.{table} row is stamped more than {CLOCK_SKEW_TOLERANCE} in the future.",
    )
    def _check(timescale: TimescaleResource) -> dg.AssetCheckResult:
        with timescale.connection() as conn:
            count, newest = conn.execute(
                sql.SQL("SELECT count(*), max(time) FROM {} WHERE time > now() + %s").format(
                    sql.Identifier("raw", table)
                ),
                (CLOCK_SKEW_TOLERANCE,),
            ).fetchone()
        return dg.AssetCheckResult(
            passed=count == 0,
            metadata={"future_rows": count, "newest": str(newest)},
            description=None if count == 0 else "check the camera box clocks (NTP)",
        )

    return _check


@dg.asset_check(
    asset=raw_key("stream_health"),
    name="health_gaps_and_freshness",
    description="Each camera reporting in the last hour has no health-sample gap over 2 min and a sample "
    "in the last 5 min.",
)
def health_gaps_and_freshness(timescale: TimescaleResource) -> dg.AssetCheckResult:
    with timescale.connection() as conn:
        rows = conn.execute(
            """SELECT camera_id, max(gap), now() - max(time) FROM (
                   SELECT camera_id, time, time - lag(time) OVER (PARTITION BY camera_id ORDER BY time) AS gap
                   FROM raw.stream_health WHERE time > now() - interval '1 hour' AND time <= now()) t
               GROUP BY camera_id ORDER BY camera_id"""
        ).fetchall()
    gaps = {camera: str(gap) for camera, gap, _ in rows if gap is not None and gap > HEALTH_GAP}
    stale = {camera: str(age) for camera, _, age in rows if age > HEALTH_STALE_AFTER}
    return dg.AssetCheckResult(
        passed=not gaps and not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"cameras": len(rows), "gaps": dg.MetadataValue.json(gaps), "stale": dg.MetadataValue.json(stale)},
    )


raw_checks = [*(_no_future_rows_check(table) for table in RAW_TABLE_NAMES), health_gaps_and_freshness]

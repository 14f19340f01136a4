"""Asset checks: what an operator must trust before reading a number.

- rollups equal raw per partition: run inside each hourly rollup (camcount_pipelines.assets.rollups)
- no future timestamps in raw (clock skew on a camera box would poison "to date" counters)
- health-sample gaps, stream freshness, and active alerts on raw/stream_health
- rollup freshness: a FreshnessPolicy on each hourly rollup (camcount_pipelines.assets.rollups),
  evaluated by the daemon and shown as the asset's freshness in the UI
"""

from datetime import timedelta

import dagster as dg
import psycopg
from psycopg import sql

from camcount_pipelines.assets.raw import RAW_TABLES, raw_key
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups import HOURLY_SOURCES

CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)
HEALTH_STALE_AFTER = timedelta(minutes=5)
HEALTH_GAP = timedelta(minutes=2)
ACTIVE_ALERTS_CHECK = dg.AssetCheckKey(raw_key("stream_health"), "active_alerts")

# What one raw row adds to each hourly rollup's own total.
_ROLLUP_TOTAL = {
    "crossings_hourly": "crossings",
    "occupancy_hourly": "samples",
    "dwell_hourly": "entries + exits",
    "stream_health_hourly": "samples",
}


def rollup_matches_raw(conn: psycopg.Connection, table: str, start, end, seq: int) -> dg.AssetCheckResult:
    """Per hour of [start, end): the rollup's total equals the raw rows it covers (seq <= watermark)."""
    query = sql.SQL(
        """SELECT coalesce(r.bucket, w.bucket), r.n, w.n FROM
             (SELECT time_bucket('1 hour', time) AS bucket, count(*) AS n FROM {source}
              WHERE time >= %(lo)s AND time < %(hi)s AND ingest_seq <= %(seq)s GROUP BY 1) r
           FULL JOIN
             (SELECT bucket, sum({total}) AS n FROM {rollup}
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


def active_alerts_evaluation(conn: psycopg.Connection) -> dg.AssetCheckEvaluation:
    """Fails while alerts are active: ERROR if any is an error, else WARN."""
    active = conn.execute(
        """SELECT rule, subject, severity, message, opened_at FROM ops.alerts
           WHERE resolved_at IS NULL ORDER BY opened_at"""
    ).fetchall()
    errors = any(severity == "error" for _, _, severity, _, _ in active)
    table = "\n".join(
        ["| rule | subject | severity | since | message |", "|---|---|---|---|---|"]
        + [f"| {r} | {s} | {sev} | {o:%Y-%m-%d %H:%M} | {m} |" for r, s, sev, m, o in active[:50]]
    )
    return dg.AssetCheckEvaluation(
        asset_key=ACTIVE_ALERTS_CHECK.asset_key,
        check_name=ACTIVE_ALERTS_CHECK.name,
        passed=not active,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata={"active_alerts": len(active), "alerts": dg.MetadataValue.md(table)},
    )


@dg.asset_check(
    asset=raw_key("stream_health"),
    name="active_alerts",
    description="Fails while ops.alerts has active alerts (the alert sensor also reports this on every change).",
)
def active_alerts(timescale: TimescaleResource) -> dg.AssetCheckResult:
    with timescale.connection() as conn:
        evaluation = active_alerts_evaluation(conn)
    return dg.AssetCheckResult(passed=evaluation.passed, severity=evaluation.severity, metadata=evaluation.metadata)


raw_checks = [*(_no_future_rows_check(table) for table in RAW_TABLES), health_gaps_and_freshness, active_alerts]

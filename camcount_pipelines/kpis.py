"""KPIs per site and camera over a span of local days, from the rollups (the dbt marts carry the
same figures for BI; reports read rollups so they never wait on a dbt run).

Trend: change vs the previous span of equal length; direction up/down/flat (|change| < 5 % is
flat) and strength weak (< 15 %), moderate (< 40 %) or strong.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import psycopg

from camcount_pipelines.rollups import HEALTH_INTERVAL_S

_CAMERA_KPIS = """
    WITH cams AS (
        SELECT c.camera_id, s.site_id, s.timezone FROM ops.cameras c JOIN ops.sites s USING (site_id)
        WHERE s.site_id = %(site)s
    ), crossings AS (
        SELECT camera_id, sum(crossings) FILTER (WHERE direction = 'in') AS total_in,
               sum(crossings) FILTER (WHERE direction = 'out') AS total_out
        FROM rollup.crossings_daily WHERE site_id = %(site)s AND day >= %(first)s AND day < %(last)s
        GROUP BY 1
    ), occupancy AS (
        SELECT camera_id, max(max_occupancy) AS max_occupancy,
               sum(avg_occupancy * samples) / nullif(sum(samples), 0) AS mean_occupancy
        FROM rollup.occupancy_daily WHERE site_id = %(site)s AND day >= %(first)s AND day < %(last)s
        GROUP BY 1
    ), dwell AS (
        SELECT camera_id, sum(dwell_sum_s) / nullif(sum(exits), 0) AS mean_dwell_s
        FROM rollup.dwell_daily WHERE site_id = %(site)s AND day >= %(first)s AND day < %(last)s
        GROUP BY 1
    ), health AS (
        SELECT camera_id, sum(samples) AS health_samples
        FROM rollup.stream_health_daily WHERE site_id = %(site)s AND day >= %(first)s AND day < %(last)s
        GROUP BY 1
    )
    SELECT cams.camera_id, coalesce(total_in, 0) AS total_in, coalesce(total_out, 0) AS total_out,
           max_occupancy, mean_occupancy, mean_dwell_s, coalesce(health_samples, 0) AS health_samples,
           extract(epoch FROM (%(last)s::timestamp AT TIME ZONE cams.timezone)
                              - (%(first)s::timestamp AT TIME ZONE cams.timezone))::bigint / %(interval)s
               AS expected_samples
    FROM cams LEFT JOIN crossings USING (camera_id) LEFT JOIN occupancy USING (camera_id)
    LEFT JOIN dwell USING (camera_id) LEFT JOIN health USING (camera_id)
    ORDER BY cams.camera_id
"""
_HOURLY = """
    SELECT h.camera_id, (h.bucket AT TIME ZONE s.timezone) AS local_hour,
           sum(h.crossings) FILTER (WHERE h.direction = 'in') AS crossings_in,
           sum(h.crossings) FILTER (WHERE h.direction = 'out') AS crossings_out
    FROM rollup.crossings_hourly h JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
    WHERE s.site_id = %(site)s
      AND h.bucket >= %(first)s::timestamp AT TIME ZONE s.timezone
      AND h.bucket < %(last)s::timestamp AT TIME ZONE s.timezone
    GROUP BY 1, 2 ORDER BY 2, 1
"""
_OCCUPANCY_BY_HOUR = """
    SELECT o.camera_id, extract(hour FROM o.bucket AT TIME ZONE s.timezone)::int AS hour_of_day,
           sum(o.occupancy_sum)::double precision / sum(o.samples) AS mean_occupancy
    FROM rollup.occupancy_hourly o JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
    WHERE s.site_id = %(site)s
      AND o.bucket >= %(first)s::timestamp AT TIME ZONE s.timezone
      AND o.bucket < %(last)s::timestamp AT TIME ZONE s.timezone
    GROUP BY 1, 2 ORDER BY 1, 2
"""


def _frame(conn: psycopg.Connection, query: str, params: dict) -> pl.DataFrame:
    cur = conn.execute(query, params)
    return pl.DataFrame(cur.fetchall(), schema=[c.name for c in cur.description], orient="row",
                        infer_schema_length=None)


def camera_kpis(conn: psycopg.Connection, site: str, first: date, last: date) -> pl.DataFrame:
    """One row per camera of the site, plus change vs the previous span of the same length."""
    params = {"site": site, "interval": HEALTH_INTERVAL_S}
    now = _frame(conn, _CAMERA_KPIS, {**params, "first": first, "last": last})
    before = _frame(conn, _CAMERA_KPIS, {**params, "first": first - (last - first), "last": first})
    hourly = hourly_counts(conn, site, first, last)
    peaks = (
        hourly.with_columns(total=pl.col("crossings_in") + pl.col("crossings_out"))
        .sort("total", "local_hour", descending=[True, False])
        .group_by("camera_id", maintain_order=True).first()
        .select("camera_id", peak_hour=pl.col("local_hour"), peak_hour_crossings=pl.col("total"))
    )
    previous = before.select("camera_id", previous_total=pl.col("total_in") + pl.col("total_out"))
    return (
        now.join(previous, on="camera_id", how="left").join(peaks, on="camera_id", how="left")
        .with_columns(
            net=pl.col("total_in") - pl.col("total_out"),
            completeness_pct=100.0 * pl.col("health_samples") / pl.col("expected_samples"),
        )
        .pipe(with_trend, "total_in", "total_out")
    )


def site_kpis(cameras: pl.DataFrame) -> pl.DataFrame:
    """The site's headline row: sums, the busiest camera-hour, sample-weighted ratios."""
    summed = cameras.select(
        pl.col("total_in", "total_out", "net", "previous_total", "health_samples", "expected_samples").sum(),
        pl.col("max_occupancy").max(),
        pl.col("mean_occupancy").mean(),
        pl.col("mean_dwell_s").mean(),
    )
    return summed.with_columns(
        completeness_pct=100.0 * pl.col("health_samples") / pl.col("expected_samples")
    ).pipe(with_trend, "total_in", "total_out")


def with_trend(frame: pl.DataFrame, total_in: str, total_out: str) -> pl.DataFrame:
    total = pl.col(total_in) + pl.col(total_out)
    change = pl.when(pl.col("previous_total") > 0).then(
        100.0 * (total - pl.col("previous_total")) / pl.col("previous_total")
    )
    return frame.with_columns(change_pct=change).with_columns(
        trend=pl.when(pl.col("change_pct").is_null()).then(pl.lit("n/a"))
        .when(pl.col("change_pct").abs() < 5).then(pl.lit("flat"))
        .when(pl.col("change_pct") > 0).then(pl.lit("up")).otherwise(pl.lit("down")),
        strength=pl.when(pl.col("change_pct").is_null()).then(pl.lit("n/a"))
        .when(pl.col("change_pct").abs() < 15).then(pl.lit("weak"))
        .when(pl.col("change_pct").abs() < 40).then(pl.lit("moderate")).otherwise(pl.lit("strong")),
    )


def hourly_counts(conn: psycopg.Connection, site: str, first: date, last: date) -> pl.DataFrame:
    return _frame(conn, _HOURLY, {"site": site, "first": first, "last": last}).with_columns(
        pl.col("crossings_in", "crossings_out").fill_null(0)
    )


def occupancy_by_hour(conn: psycopg.Connection, site: str, first: date, last: date) -> pl.DataFrame:
    return _frame(conn, _OCCUPANCY_BY_HOUR, {"site": site, "first": first, "last": last})


def sites_with_data(conn: psycopg.Connection, first: date, last: date) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT site_id FROM rollup.crossings_daily WHERE day >= %s AND day < %s ORDER BY 1",
        (first, last),
    ).fetchall()
    return [site for (site,) in rows]

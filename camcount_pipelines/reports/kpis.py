"""KPIs per site and camera over a span of local days, read from the dbt marts: a report shows
exactly what BI users see, and the marts are the one place where KPIs and trends are defined.

The trend is the marts' own (fct_kpi_trends for the site, fct_camera_kpi_trends per camera):
crossings in + out against the previous day (daily reports) or against the previous week's daily
mean (weekly reports, on the week's last day), with direction and strength from the dbt seed
kpi_trend_thresholds. Nothing here re-derives a threshold.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import psycopg

# The fct_*_kpi_trends comparison that matches each report period.
COMPARISON = {"daily": "previous_day", "weekly": "previous_week"}

# Marts the reports read: their asset keys are the reports' upstream dependencies.
REPORT_MARTS = ("fct_camera_daily_kpis", "fct_camera_kpi_trends", "fct_kpi_trends", "fct_crossings_hourly",
                "fct_occupancy_hourly")

# One row for the site (camera_id NULL) and one per camera, over local days [first, last).
_KPIS = """
    WITH days AS (
        SELECT * FROM marts.fct_camera_daily_kpis
        WHERE site_id = %(site)s AND local_date >= %(first)s AND local_date < %(last)s
    ), totals AS (
        SELECT camera_id, sum(total_in) AS total_in, sum(total_out) AS total_out, sum(net_flow) AS net,
               max(max_occupancy) AS max_occupancy,
               (sum(occupancy_sum) / nullif(sum(occupancy_samples), 0))::float8 AS mean_occupancy,
               (sum(total_dwell_s) / nullif(sum(zone_exits), 0))::float8 AS mean_dwell_s,
               sum(health_samples) AS health_samples, sum(expected_health_samples) AS expected_samples
        FROM days GROUP BY GROUPING SETS ((camera_id), ())
    ), hours AS (
        SELECT camera_id, bucket_utc, bucket_local, sum(crossings) AS crossings
        FROM marts.fct_crossings_hourly
        WHERE site_id = %(site)s AND local_date >= %(first)s AND local_date < %(last)s
        GROUP BY GROUPING SETS ((camera_id, bucket_utc, bucket_local), (bucket_utc, bucket_local))
    ), peaks AS (  -- the busiest local hour; the earliest on ties, as in fct_site_daily_kpis
        SELECT DISTINCT ON (camera_id) camera_id, bucket_local AS peak_hour, crossings AS peak_hour_crossings
        FROM hours ORDER BY camera_id, crossings DESC, bucket_utc
    ), trends AS (
        SELECT camera_id, change_pct, direction, strength FROM marts.fct_camera_kpi_trends
        WHERE site_id = %(site)s AND local_date = %(last)s::date - 1
          AND kpi = 'crossings_total' AND comparison = %(comparison)s
        UNION ALL
        SELECT NULL, change_pct, direction, strength FROM marts.fct_kpi_trends
        WHERE site_id = %(site)s AND local_date = %(last)s::date - 1
          AND kpi = 'crossings_total' AND comparison = %(comparison)s
    )
    SELECT totals.camera_id, total_in, total_out, net, peak_hour, peak_hour_crossings, max_occupancy,
           mean_occupancy, mean_dwell_s, health_samples, expected_samples,
           100.0::float8 * health_samples / nullif(expected_samples, 0) AS completeness_pct,
           change_pct::float8 AS change_pct, direction, strength
    FROM totals
    LEFT JOIN peaks ON peaks.camera_id IS NOT DISTINCT FROM totals.camera_id
    LEFT JOIN trends ON trends.camera_id IS NOT DISTINCT FROM totals.camera_id
    ORDER BY totals.camera_id NULLS FIRST
"""
_HOURLY = """
    SELECT camera_id, bucket_local AS local_hour,
           sum(crossings) FILTER (WHERE direction = 'in') AS crossings_in,
           sum(crossings) FILTER (WHERE direction = 'out') AS crossings_out
    FROM marts.fct_crossings_hourly
    WHERE site_id = %(site)s AND local_date >= %(first)s AND local_date < %(last)s
    GROUP BY camera_id, bucket_utc, bucket_local ORDER BY bucket_utc, camera_id
"""
_OCCUPANCY_BY_HOUR = """
    SELECT camera_id, local_hour AS hour_of_day, sum(avg_occupancy * samples) / sum(samples) AS mean_occupancy
    FROM marts.fct_occupancy_hourly
    WHERE site_id = %(site)s AND local_date >= %(first)s AND local_date < %(last)s
    GROUP BY 1, 2 ORDER BY 1, 2
"""


def _frame(conn: psycopg.Connection, query: str, params: dict) -> pl.DataFrame:
    cur = conn.execute(query, params)
    return pl.DataFrame(cur.fetchall(), schema=[c.name for c in cur.description], orient="row",
                        infer_schema_length=None)


def report_kpis(conn: psycopg.Connection, site: str, period: str, first: date, last: date) -> pl.DataFrame:
    """The site's row (camera_id null) first, then one row per camera with data in the span."""
    params = {"site": site, "first": first, "last": last, "comparison": COMPARISON[period]}
    return _frame(conn, _KPIS, params)


def hourly_counts(conn: psycopg.Connection, site: str, first: date, last: date) -> pl.DataFrame:
    return _frame(conn, _HOURLY, {"site": site, "first": first, "last": last}).with_columns(
        pl.col("crossings_in", "crossings_out").fill_null(0)
    )


def occupancy_by_hour(conn: psycopg.Connection, site: str, first: date, last: date) -> pl.DataFrame:
    return _frame(conn, _OCCUPANCY_BY_HOUR, {"site": site, "first": first, "last": last})


def sites_with_data(conn: psycopg.Connection, first: date, last: date) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT site_id FROM marts.fct_camera_daily_kpis WHERE local_date >= %s AND local_date < %s "
        "ORDER BY 1",
        (first, last),
    ).fetchall()
    return [site for (site,) in rows]

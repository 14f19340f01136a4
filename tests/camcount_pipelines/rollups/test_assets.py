"""Rollups against raw: hourly exact per camera/line/direction, idempotent reruns, local days
across timezones, weeks and months from days."""

from datetime import date, timedelta

import dagster as dg
import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from bench.harness.realistic_data import RealisticData, insert_realistic_crossings
from camcount_pipelines.rollups.compute import DAILY_SOURCES, HOURLY_SOURCES

HOURLY = [dg.AssetKey(["rollup", t]) for t in HOURLY_SOURCES]
DAILY = [dg.AssetKey(["rollup", t]) for t in DAILY_SOURCES]
START = date(2024, 3, 4)  # a Monday; NZ DST ends 2024-04-07, so no DST here
DAYS = 3


@pytest.fixture
def two_timezones(conn: psycopg.Connection, prefix: str, materialize_range) -> list[RealisticData]:
    """Auckland (UTC+13) and New York (UTC-5) sites, hourly rollups materialized for both."""
    datasets = [
        insert_realistic_crossings(
            conn, sites=1, cameras_per_site=2, start=START, days=DAYS, timezone=tz,
            prefix=f"{prefix}{n}-", scale=0.3,
        )
        for n, tz in enumerate(["Pacific/Auckland", "America/New_York"])
    ]
    first = min(d.start_utc for d in datasets)
    last = max(d.end_utc for d in datasets) - timedelta(hours=1)
    assert materialize_range(HOURLY, first, last).success
    return datasets


def _table(conn: psycopg.Connection, query: str, params: dict) -> pl.DataFrame:
    cur = conn.execute(query, params)
    return pl.DataFrame(cur.fetchall(), schema=[c.name for c in cur.description], orient="row")


def test_hourly_crossings_equal_raw_truth_and_rerun_is_identical(
    conn: psycopg.Connection, prefix: str, two_timezones: list[RealisticData], materialize_range
) -> None:
    query = """SELECT camera_id, line_id, direction, class_name, bucket, crossings, first_at, last_at
               FROM rollup.crossings_hourly WHERE camera_id LIKE %(p)s ORDER BY 1, 2, 3, 4, 5"""
    rolled = _table(conn, query, {"p": f"{prefix}%"})
    expected = pl.concat([d.expected_crossings_hourly() for d in two_timezones])
    got = rolled.select(expected.columns).with_columns(pl.col("bucket").dt.convert_time_zone("UTC"))
    assert_frame_equal(got.sort(expected.columns[:5]), expected.sort(expected.columns[:5]), check_dtypes=False)

    data = two_timezones[0]
    assert materialize_range(HOURLY, data.start_utc, data.end_utc - timedelta(hours=1)).success
    assert _table(conn, query, {"p": f"{prefix}%"}).equals(rolled)


def test_occupancy_dwell_and_health_hourly_match_raw(
    conn: psycopg.Connection, prefix: str, two_timezones: list[RealisticData]
) -> None:
    p = {"p": f"{prefix}%"}
    occupancy = conn.execute(
        """SELECT count(*) FROM (
             SELECT time_bucket('1 hour', time) AS bucket, camera_id, zone_id, class_name, count(*) AS n,
                    avg(occupancy) AS a, max(occupancy) AS mx, min(occupancy) AS mn,
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY occupancy) AS p95,
                    first(occupancy, time) AS f, last(occupancy, time) AS l
             FROM raw.zone_occupancy WHERE camera_id LIKE %(p)s GROUP BY 1, 2, 3, 4) r
           FULL JOIN rollup.occupancy_hourly h USING (bucket, camera_id, zone_id, class_name)
           WHERE (h.camera_id IS NULL OR h.camera_id LIKE %(p)s)
             AND (r.n IS DISTINCT FROM h.samples OR r.mx IS DISTINCT FROM h.max_occupancy
                  OR r.mn IS DISTINCT FROM h.min_occupancy OR r.p95 IS DISTINCT FROM h.p95_occupancy
                  OR abs(r.a - h.avg_occupancy) > 1e-9 OR r.f IS DISTINCT FROM h.first_occupancy
                  OR r.l IS DISTINCT FROM h.last_occupancy)""",
        p,
    ).fetchone()[0]
    assert occupancy == 0
    dwell = conn.execute(
        """SELECT sum(entries), sum(exits), sum(dwell_sum_s) FROM rollup.dwell_hourly WHERE camera_id LIKE %(p)s""",
        p,
    ).fetchone()
    raw = conn.execute(
        """SELECT count(*) FILTER (WHERE transition = 'enter'), count(*) FILTER (WHERE transition = 'exit'),
                  sum(dwell_s) FROM raw.zone_events WHERE camera_id LIKE %(p)s""",
        p,
    ).fetchone()
    # Exits after the last materialized hour are not rolled up: compare entries exactly.
    assert dwell[0] == raw[0] and dwell[1] <= raw[1] and dwell[1] > 0
    samples = conn.execute(
        "SELECT sum(samples) FROM rollup.stream_health_hourly WHERE camera_id LIKE %(p)s", p
    ).fetchone()[0]
    assert samples == sum(d.rows["raw.stream_health"] for d in two_timezones)


def test_local_days_weeks_and_months_match_raw_in_each_site_timezone(
    conn: psycopg.Connection, prefix: str, two_timezones: list[RealisticData], materialize_range
) -> None:
    assert materialize_range(DAILY, START, START + timedelta(days=DAYS - 1)).success
    calendar = [dg.AssetKey(["rollup", "crossings_weekly"])]
    assert materialize_range(calendar, START, START).success
    assert materialize_range([dg.AssetKey(["rollup", "crossings_monthly"])], START.replace(day=1),
                             START.replace(day=1)).success

    raw_days = """
        SELECT (e.time AT TIME ZONE s.timezone)::date AS day, e.camera_id, e.direction, count(*) AS n
        FROM raw.crossing_events e JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
        WHERE e.camera_id LIKE %(p)s GROUP BY 1, 2, 3"""
    mismatches = conn.execute(
        f"""SELECT count(*) FROM ({raw_days}) r
            FULL JOIN (SELECT day, camera_id, direction, crossings FROM rollup.crossings_daily
                       WHERE camera_id LIKE %(p)s) d USING (day, camera_id, direction)
            WHERE r.n IS DISTINCT FROM d.crossings""",
        {"p": f"{prefix}%"},
    ).fetchone()[0]
    assert mismatches == 0
    for table, unit in [("crossings_weekly", "week"), ("crossings_monthly", "month")]:
        rolled, raw = conn.execute(
            f"""SELECT (SELECT sum(crossings) FROM rollup.{table} WHERE camera_id LIKE %(p)s),
                       (SELECT sum(n) FROM ({raw_days}) r)""",
            {"p": f"{prefix}%"},
        ).fetchone()
        assert rolled == raw, unit
    completeness = conn.execute(
        "SELECT min(completeness), max(completeness) FROM rollup.stream_health_daily WHERE camera_id LIKE %(p)s",
        {"p": f"{prefix}%"},
    ).fetchone()
    assert 0.9 < completeness[0] <= completeness[1] < 1.0  # one short gap a day

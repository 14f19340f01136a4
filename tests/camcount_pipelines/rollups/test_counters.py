"""rollup.counts_to_date equals counting raw rows, whatever mix of hours has materialized."""

import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.rollups.compute import HOURLY_SOURCES
from camcount_pipelines.rollups.sensors import scan_new_rows
from camcount_pipelines.watermark import high_watermark

CROSSINGS = [dg.AssetKey(["rollup", "crossings_hourly"])]
assert "crossings_hourly" in HOURLY_SOURCES

_FROM_COUNTERS = """
    SELECT camera_id, line_id, direction, period, crossings
    FROM rollup.counts_to_date(%(now)s) WHERE camera_id LIKE %(p)s"""
_FROM_RAW = """
    SELECT e.camera_id, e.line_id, e.direction, p.period, count(*)
    FROM raw.crossing_events e JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
    CROSS JOIN (VALUES ('hour'), ('day'), ('week'), ('month')) AS p (period)
    WHERE e.camera_id LIKE %(p)s AND e.time <= %(now)s
      AND e.time >= date_trunc(p.period, %(now)s AT TIME ZONE s.timezone) AT TIME ZONE s.timezone
    GROUP BY 1, 2, 3, 4"""


def _assert_exact(conn: psycopg.Connection, now: datetime, prefix: str) -> None:
    params = {"now": now, "p": f"{prefix}%"}
    counters = sorted(conn.execute(_FROM_COUNTERS, params).fetchall())
    assert counters == sorted(conn.execute(_FROM_RAW, params).fetchall())
    assert {"day", "week", "month"} <= {row[3] for row in counters}
    conn.commit()


def test_counters_equal_raw_through_materialized_dirty_and_late_hours(
    conn: psycopg.Connection, prefix: str, materialize_range
) -> None:
    # Auckland and a half-hour-offset zone, so local boundaries cut UTC hours in two.
    for n, tz in enumerate(["Pacific/Auckland", "Asia/Kolkata"]):
        insert_realistic_crossings(
            conn, sites=1, cameras_per_site=2, start=date(2024, 6, 3), days=7, timezone=tz,
            prefix=f"{prefix}{n}-", scale=0.1, zones=False, health=False,
        )
    now = datetime(2024, 6, 8, 3, 40, 12, tzinfo=UTC)
    _assert_exact(conn, now, prefix)  # nothing rolled up: all raw

    start = datetime(2024, 6, 2, 10, tzinfo=UTC)
    assert materialize_range(CROSSINGS, start, start + timedelta(hours=80)).success
    assert materialize_range(CROSSINGS, start + timedelta(hours=100), now.replace(minute=0)).success
    _assert_exact(conn, now, prefix)  # a hole of unmaterialized hours, and the running hour

    cursor = high_watermark(conn)
    camera = f"{prefix}0-cam-0-0"
    late = [now - timedelta(hours=h, minutes=3) for h in (2, 30, 120)]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                                direction, class_name, confidence)
               VALUES (%s, %s, %s, 'door', 'late', 1, 'out', 'person', 0.8)""",
            [(t, uuid.uuid4(), camera) for t in late],
        )
    conn.commit()
    _assert_exact(conn, now, prefix)  # late rows in materialized hours, not yet seen by the sensor
    scan_new_rows(conn, cursor)
    _assert_exact(conn, now, prefix)  # seen: those hours are dirty until re-rolled
    for t in late:
        hour = t.replace(minute=0, second=0, microsecond=0)
        assert materialize_range(CROSSINGS, hour, hour).success
    _assert_exact(conn, now, prefix)  # clean again
    _assert_exact(conn, now + timedelta(days=1, hours=6), prefix)  # a later instant

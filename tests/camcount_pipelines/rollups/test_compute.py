"""The local-day health rollup divides by each camera's own sampling interval (ops.cameras)."""

from datetime import date, timedelta

import psycopg

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.rollups.compute import rollup_days, rollup_hours

DAY = date(2024, 9, 16)  # no other test rolls up this day


def test_health_completeness_uses_each_cameras_interval(conn: psycopg.Connection, prefix: str) -> None:
    fast, slow = (
        insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=DAY, days=1, timezone="UTC",
                                   prefix=f"{prefix}{name}-", source_start=date(2024, 3, 4), scale=0.05, zones=False,
                                   health_every_s=every)
        for name, every in (("fast", 5), ("slow", 10))
    )
    conn.execute("UPDATE ops.cameras SET health_interval_s = 5 WHERE camera_id = %s", (fast.cameras[0],))
    conn.commit()
    rollup_hours(conn, "stream_health_hourly", fast.start_utc, fast.end_utc)
    rollup_days(conn, "stream_health_daily", DAY, DAY + timedelta(days=1))

    rows = dict(
        (camera, (samples, expected, completeness))
        for camera, samples, expected, completeness in conn.execute(
            """SELECT camera_id, samples, expected_samples, completeness FROM rollup.stream_health_daily
               WHERE day = %s AND camera_id = ANY(%s)""",
            (DAY, [*fast.cameras, *slow.cameras]),
        ).fetchall()
    )
    # Divided by the default 10 s, the fast camera would be about 200 % complete.
    for data, interval_s in ((fast, 5), (slow, 10)):
        samples, expected, completeness = rows[data.cameras[0]]
        assert samples == data.rows["raw.stream_health"]
        assert expected == 86400 // interval_s and completeness == samples / expected and 0.5 < completeness <= 1.0

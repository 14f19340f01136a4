"""The local-day health rollup divides by each camera's own sampling interval (ops.cameras)."""

from datetime import UTC, date, datetime, timedelta

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


def test_health_days_run_from_a_cameras_first_sample_to_its_sites_last_day(
    conn: psycopg.Connection, prefix: str
) -> None:
    """A camera dark for a day while its neighbour ran has a row with 0 samples; before its first
    sample, or after the site's last report, it has none."""
    site, early, late = f"{prefix}site", f"{prefix}early", f"{prefix}late"
    first = DAY + timedelta(days=5)
    start = datetime(first.year, first.month, first.day, 12, tzinfo=UTC)
    samples = [(start, early), (start + timedelta(days=1), late), (start + timedelta(days=2), early)]
    conn.execute("INSERT INTO ops.sites (site_id, name, timezone) VALUES (%s, 's', 'UTC')", (site,))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO ops.cameras (camera_id, site_id, name, source_kind) VALUES (%s, %s, 'c', 'file')",
                        [(early, site), (late, site)])
        cur.executemany("INSERT INTO raw.stream_health (time, camera_id, input_fps, processed_fps, dropped_frames,"
                        " queue_depth, quality) VALUES (%s, %s, 10, 10, 0, 1, 1.0)", samples)
    conn.commit()
    rollup_hours(conn, "stream_health_hourly", start, start + timedelta(days=3))
    rollup_days(conn, "stream_health_daily", first - timedelta(days=1), first + timedelta(days=4))

    rows = conn.execute(
        "SELECT camera_id, day - %s, samples, expected_samples FROM rollup.stream_health_daily "
        "WHERE camera_id IN (%s, %s) ORDER BY 1, 2",
        (first, early, late),
    ).fetchall()
    assert rows == [(early, 0, 1, 8640), (early, 1, 0, 8640), (early, 2, 1, 8640),
                    (late, 1, 1, 8640), (late, 2, 0, 8640)]

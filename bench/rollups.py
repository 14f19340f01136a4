"""Rollup scaling: the hourly rollup for 100 cameras must cost the same with 1 or 30 days of
history in the database (target ratio <= 1.5), and the real-time counter query must stay fast.

    .venv/bin/python -m bench.rollups      # uses CAMCOUNT_DATABASE_URL or the embedded cluster

It works in a scratch database `camcount_bench` (embedded cluster) and prints the figures.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date, timedelta

import psycopg

from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.settings import user_database_url
from camcount_pipelines.rollups import HOURLY_SOURCES, rollup_hours
from tests.realistic_data import insert_realistic_crossings

CAMERAS = 100
FIRST = date(2024, 9, 2)


def _scratch_database() -> str:
    if user_database_url():
        return user_database_url()
    cluster = Cluster.default()
    cluster.start()
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "camcount_bench" WITH (FORCE)')
        conn.execute('CREATE DATABASE "camcount_bench"')
    os.environ["CAMCOUNT_DATABASE_URL"] = cluster.url("camcount_bench")
    migrate()
    return os.environ["CAMCOUNT_DATABASE_URL"]


def _load(conn: psycopg.Connection, start: date, days: int, seed: int) -> int:
    data = insert_realistic_crossings(
        conn, sites=10, cameras_per_site=CAMERAS // 10, start=start, days=days, timezone="UTC",
        prefix="bench-", scale=0.05, occupancy_every_s=300, health_every_s=300, seed=seed,
    )
    conn.execute("ANALYZE")
    return sum(data.rows.values())


def _time_hour(conn: psycopg.Connection, hour_start, repeats: int = 5) -> float:
    """Median seconds to roll up one UTC hour (all four hourly rollups)."""
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        for table in HOURLY_SOURCES:
            rollup_hours(conn, table, hour_start, hour_start + timedelta(hours=1))
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    url = _scratch_database()
    with psycopg.connect(url) as conn:
        rows = _load(conn, FIRST, 1, seed=1)
        hour = conn.execute("SELECT date_trunc('hour', max(time)) FROM raw.crossing_events").fetchone()[0]
        one_day = _time_hour(conn, hour - timedelta(hours=6))
        print(f"1 day of history ({rows:,} raw rows): hourly rollup {one_day * 1000:.0f} ms")

        # 29 more days *before* the measured day: the same hour, now with 30 days in the tables.
        rows += _load(conn, FIRST - timedelta(days=29), 29, seed=2)
        thirty_days = _time_hour(conn, hour - timedelta(hours=6))
        print(f"30 days of history ({rows:,} raw rows): hourly rollup {thirty_days * 1000:.0f} ms")
        print(f"ratio 30d/1d: {thirty_days / one_day:.2f} (target <= 1.5)")

        for table in HOURLY_SOURCES:  # materialize everything, as the sensor would have
            rollup_hours(conn, table, hour - timedelta(days=31), hour + timedelta(hours=1))
        latencies = []
        for _ in range(10):
            began = time.perf_counter()
            conn.execute("SELECT count(*) FROM rollup.counts_to_date(%s)", (hour + timedelta(minutes=30),)).fetchone()
            latencies.append(time.perf_counter() - began)
        conn.commit()
        median_ms, max_ms = statistics.median(latencies) * 1000, max(latencies) * 1000
        print(f"real-time counters (100 cameras, hour/day/week/month): median {median_ms:.0f} ms, max {max_ms:.0f} ms")


if __name__ == "__main__":
    main()

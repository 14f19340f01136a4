"""Rollup scaling: the hourly rollup for 100 cameras must cost the same with 1 or 30 days of
history in the database (target ratio <= 1.5), and the real-time counter query must stay fast.

    .venv/bin/python -m bench.rollups      # uses CAMCOUNT_DATABASE_URL or the embedded cluster

It works in a fresh database `camcount_bench` (bench.common) and prints the figures.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import psycopg

from bench.common import bench_database, print_table
from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.rollups.compute import HOURLY_SOURCES, rollup_hours
from camcount_pipelines.rollups.sensors import scan_new_rows

CAMERAS = 100
FIRST = date(2024, 9, 2)


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


def main() -> list[tuple[str, str, str]]:
    with psycopg.connect(bench_database()) as conn:
        one_day_rows = _load(conn, FIRST, 1, seed=1)
        hour = conn.execute("SELECT date_trunc('hour', max(time)) FROM raw.crossing_events").fetchone()[0]
        one_day = _time_hour(conn, hour - timedelta(hours=6))
        # 29 more days *before* the measured day: the same hour, now with 30 days in the tables.
        all_rows = one_day_rows + _load(conn, FIRST - timedelta(days=29), 29, seed=2)
        thirty_days = _time_hour(conn, hour - timedelta(hours=6))

        scan_new_rows(conn, 0)  # what the ingest sensor does, then the runs it requests
        for table in HOURLY_SOURCES:
            rollup_hours(conn, table, hour - timedelta(days=31), hour + timedelta(hours=1))
        latencies = []
        for _ in range(10):
            began = time.perf_counter()
            conn.execute("SELECT count(*) FROM rollup.counts_to_date(%s)", (hour + timedelta(minutes=30),)).fetchone()
            latencies.append(time.perf_counter() - began)
        conn.commit()
    rows = [
        ("1 day of history", f"{one_day * 1000:.0f} ms", f"{one_day_rows:,} raw rows"),
        ("30 days of history", f"{thirty_days * 1000:.0f} ms", f"{all_rows:,} raw rows"),
        ("ratio 30d / 1d", f"{thirty_days / one_day:.2f}", "target <= 1.5"),
        ("counts_to_date, median", f"{statistics.median(latencies) * 1000:.0f} ms", "hour/day/week/month"),
        ("counts_to_date, max", f"{max(latencies) * 1000:.0f} ms", "of 10 calls"),
    ]
    print_table(f"Hourly rollups, {CAMERAS} cameras (all four hourly rollups of one UTC hour, median of 5)", rows)
    return rows


if __name__ == "__main__":
    main()

"""Mart freshness: the lag from a committed raw.crossing_events row to its count in
marts.fct_crossings_hourly, with `dagster dev` (webserver and daemon: ingest sensor, run queue,
automation sensor) running for real. Target (issue 5): <= 120 s.

    .venv/bin/python -m bench.freshness      # uses CAMCOUNT_DATABASE_URL or the embedded cluster

It works in a fresh database `camcount_bench_freshness` that also holds the Dagster instance
(a temporary DAGSTER_HOME), builds the empty marts once, starts `dagster dev` in its own process
group, inserts one crossing every INTERVAL_S, and polls the mart until each one is counted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
from psycopg.types.json import Jsonb

from bench.common import REPO, bench_database, print_table
from bench.harness.net import free_port
from bench.harness.realistic_data import CLASS_NAME, GEOMETRY, LINE_ID
from camcount_cli.processes import stop_group  # the demo stops `dagster dev` the same way
from camcount_pipelines.instance import ensure_dagster_home
from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource

EVENTS = 10  # issue 11: p50 and max over at least 10
INTERVAL_S = 40  # longer than one sensor-to-mart cycle, so every event measures a cold path
TIMEOUT_S = 300  # give up on an event after this long
CAMERA, SITE = "bench-fresh-cam", "bench-fresh-site"


def _register(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO ops.sites (site_id, name, timezone) VALUES (%s, 'Bench', 'UTC')", (SITE,))
    conn.execute(
        """INSERT INTO ops.cameras (camera_id, site_id, name, source_kind, geometry)
           VALUES (%s, %s, 'Bench', 'file', %s)""",
        (CAMERA, SITE, Jsonb(GEOMETRY)),
    )
    conn.commit()


def _insert_event(conn: psycopg.Connection) -> tuple[datetime, float]:
    """One crossing stamped now, committed; returns its UTC hour and the commit's wall time."""
    now = datetime.now(UTC)
    conn.execute(
        """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                            direction, class_name, confidence)
           VALUES (%s, %s, %s, %s, 'bench', 1, 'in', %s, 0.9)""",
        (now, uuid.uuid4(), CAMERA, LINE_ID, CLASS_NAME),
    )
    conn.commit()
    return now.replace(minute=0, second=0, microsecond=0), time.time()


def _mart_count(conn: psycopg.Connection, hour: datetime) -> int:
    try:
        count = conn.execute(
            """SELECT coalesce(sum(crossings), 0) FROM marts.fct_crossings_hourly
               WHERE camera_id = %s AND bucket_utc = %s""",
            (CAMERA, hour),
        ).fetchone()[0]
    finally:
        conn.rollback()  # no snapshot held open across polls
    return count


def _wait_for_daemon(instance: dg.DagsterInstance, deadline: float) -> None:
    """Until the daemon has beaten for the sensors and the automation (asset) daemon."""
    while time.time() < deadline:
        if {"SENSOR", "ASSET", "QUEUED_RUN_COORDINATOR"} <= set(instance.get_daemon_heartbeats()):
            return
        time.sleep(1)
    raise TimeoutError("the Dagster daemon did not start")


def _measure(conn: psycopg.Connection) -> list[float]:
    """Insert EVENTS crossings INTERVAL_S apart; the lag of each is when the mart first counts it."""
    pending: list[tuple[datetime, int, float]] = []  # hour, count the mart must reach, commit time
    lags: list[float] = []
    per_hour: dict[datetime, int] = {}
    next_insert = time.time()
    while len(lags) < EVENTS:
        if len(pending) + len(lags) < EVENTS and time.time() >= next_insert:
            hour, committed = _insert_event(conn)
            per_hour[hour] = per_hour.get(hour, 0) + 1
            pending.append((hour, per_hour[hour], committed))
            next_insert = committed + INTERVAL_S
        for event in list(pending):
            hour, needed, committed = event
            if _mart_count(conn, hour) >= needed:
                lags.append(time.time() - committed)
                pending.remove(event)
                print(f"event {len(lags)}/{EVENTS}: in the mart after {lags[-1]:.1f} s", flush=True)
            elif time.time() - committed > TIMEOUT_S:
                raise TimeoutError(f"an event committed {TIMEOUT_S} s ago is still not in the mart")
        time.sleep(0.5)
    return lags


def main() -> list[tuple[str, str, str]]:
    url = bench_database("camcount_bench_freshness")
    with tempfile.TemporaryDirectory(prefix="camcount-bench-dagster-") as home, psycopg.connect(url) as conn:
        ensure_dagster_home(Path(home))
        _register(conn)
        with dg.DagsterInstance.get() as instance:
            # The marts exist and Dagster knows it: the automation reacts to new rollups only.
            assert dg.materialize([camcount_dbt_assets], resources={"dbt": dbt_resource()}, instance=instance).success
            ui = subprocess.Popen(
                [str(REPO / ".venv/bin/dagster"), "dev", "-w", "workspace.yaml", "--host", "127.0.0.1",
                 "--port", str(free_port())],
                cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so it can be stopped whole
            )
            try:
                _wait_for_daemon(instance, time.time() + 120)
                lags = _measure(conn)
            finally:
                stop_group(ui)
    rows = [
        ("events", str(len(lags)), f"one every {INTERVAL_S} s"),
        ("lag p50", f"{statistics.median(lags):.0f} s", "target <= 120"),
        ("lag max", f"{max(lags):.0f} s", "target <= 120"),
    ]
    print_table("Freshness: committed crossing -> marts.fct_crossings_hourly (dagster dev running)", rows)
    return rows


if __name__ == "__main__":
    main()

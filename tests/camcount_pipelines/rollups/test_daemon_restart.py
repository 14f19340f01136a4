"""Fault injection (issue 6): the Dagster daemon dies mid-sensor, then restarts; no hour partition
is missed or requested twice.

Everything is real except the clock: Dagster's own sensor daemon loop (execute_sensor_iteration)
on an instance whose storage is Postgres, in a process that is SIGKILLed right after it created
the tick's first run. Rows arrive while it is down. A new daemon, on a new instance object over
the same storage, must finish the interrupted tick (its run requests and cursor were stored
before the first run was created) and then follow on from the stored cursor.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, InstigatorType, SensorInstigatorData
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._core.workspace.context import WorkspaceProcessContext

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.raw.assets import raw_assets
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups.assets import hourly_rollups
from camcount_pipelines.rollups.jobs import hourly_rollups_job
from camcount_pipelines.rollups.sensors import ingest_sensor, partition_key
from camcount_pipelines.watermark import high_watermark
from tests.camcount_pipelines.daemon import code_location, daemon_workspace, repository, tick_sensors

# The code location the daemon loads: the ingest sensor and its job, nothing that writes elsewhere.
INGEST_ONLY = dg.Definitions(
    assets=[*raw_assets, *hourly_rollups], jobs=[hourly_rollups_job], sensors=[ingest_sensor],
    resources={"timescale": TimescaleResource()},
)


@contextmanager
def _daemon(location: str) -> Iterator[tuple[dg.DagsterInstance, WorkspaceProcessContext]]:
    """A freshly started daemon: a new instance object from DAGSTER_HOME and a new workspace."""
    target = code_location(module=__name__, attribute="INGEST_ONLY", name=location)
    with dg.DagsterInstance.get() as instance, daemon_workspace(instance, target) as workspace:
        yield instance, workspace


def _crashing_daemon(location: str, at: datetime) -> None:
    """The daemon process that dies (SIGKILL) right after creating the tick's first run."""
    with _daemon(location) as (_, workspace):
        tick_sensors(workspace, at, crash={"ingest_sensor": {"RUN_CREATED": signal.SIGKILL}})


def _sensor_runs(instance: dg.DagsterInstance, location: str) -> list[dg.DagsterRun]:
    """The hourly rollup runs the daemon created for this test's code location."""
    runs = instance.get_runs(
        RunsFilter(job_name=hourly_rollups_job.name, tags={"dagster/sensor_name": ingest_sensor.name})
    )
    return [run for run in runs if run.remote_job_origin.location_name == location]


def _touched_hours(conn: psycopg.Connection, prefix: str) -> set[str]:
    rows = conn.execute(
        """SELECT DISTINCT time_bucket('1 hour', time) FROM (
             SELECT time FROM raw.crossing_events WHERE camera_id LIKE %(p)s
             UNION ALL SELECT time FROM raw.zone_events WHERE camera_id LIKE %(p)s
             UNION ALL SELECT time FROM raw.zone_occupancy WHERE camera_id LIKE %(p)s) t""",
        {"p": f"{prefix}%"},
    ).fetchall()
    conn.commit()
    return {partition_key(hour) for (hour,) in rows}


@pytest.mark.fault
def test_daemon_killed_mid_tick_misses_and_doubles_no_partition(
    conn: psycopg.Connection, prefix: str, dagster_home: Path
) -> None:
    location = f"fault-{prefix}"
    start = datetime.now(UTC)
    with _daemon(location) as (instance, workspace):
        # The sensor has been running: its stored cursor is the current watermark.
        sensor = repository(workspace).get_sensor("ingest_sensor")
        instance.add_instigator_state(InstigatorState(
            sensor.get_remote_origin(), InstigatorType.SENSOR, InstigatorStatus.RUNNING,
            SensorInstigatorData(cursor=str(high_watermark(conn)), min_interval=sensor.min_interval_seconds,
                                 sensor_type=sensor.sensor_type),
        ))
    try:
        before_crash = insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=date(2024, 5, 6), days=1,
                                                  prefix=f"{prefix}a-", scale=0.2, zones=False, health=False)
        daemon = multiprocessing.get_context("spawn").Process(target=_crashing_daemon, args=(location, start))
        daemon.start()
        daemon.join(60)
        assert daemon.exitcode == -signal.SIGKILL
        with dg.DagsterInstance.get() as instance:
            assert len(_sensor_runs(instance, location)) == 1  # killed mid-tick, after its first run

        during_outage = insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=date(2024, 5, 8), days=1,
                                                   prefix=f"{prefix}b-", scale=0.2, zones=False, health=False)
        with _daemon(location) as (instance, workspace):
            for seconds in (20, 40, 60):  # resume the interrupted tick, then two regular ticks (15 s apart)
                tick_sensors(workspace, start + timedelta(seconds=seconds))
            requested = Counter(run.tags[PARTITION_NAME_TAG] for run in _sensor_runs(instance, location))

            first, second = _touched_hours(conn, before_crash.prefix), _touched_hours(conn, during_outage.prefix)
            assert len(first) > 1 and second and not first & second  # several runs in the killed tick
            expected = first | second
            assert set(requested) == expected  # none missed
            assert max(requested.values()) == 1  # none doubled
            state = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
            assert int(state.instigator_data.cursor) == high_watermark(conn)
    finally:
        with dg.DagsterInstance.get() as instance:
            for run in _sensor_runs(instance, location):
                instance.delete_run(run.run_id)
            origin_id, selector_id = sensor.get_remote_origin_id(), sensor.selector_id
            instance.purge_ticks(origin_id, selector_id, before=datetime.now(UTC).timestamp() + 3600)
            instance.delete_instigator_state(origin_id, selector_id)

"""Fault injection (issue 6): the Dagster daemon dies mid-sensor, then restarts; no hour partition
is missed or requested twice.

Everything is real except the clock: Dagster's own sensor daemon loop (execute_sensor_iteration)
on an instance whose storage is Postgres, in a process that is SIGKILLed right after it created
the tick's first run. Rows arrive while it is down. A new daemon, on a new instance object over
the same storage, must finish the interrupted tick (its run requests and cursor were stored
before the first run was created) and then follow on from the stored cursor.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, InstigatorType, SensorInstigatorData
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.raw.assets import raw_assets
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups.assets import hourly_rollups
from camcount_pipelines.rollups.jobs import hourly_rollups_job
from camcount_pipelines.rollups.sensors import ingest_sensor, partition_key
from camcount_pipelines.watermark import high_watermark

# The code location the daemon loads: the ingest sensor and its job, nothing that writes elsewhere.
INGEST_ONLY = dg.Definitions(
    assets=[*raw_assets, *hourly_rollups], jobs=[hourly_rollups_job], sensors=[ingest_sensor],
    resources={"timescale": TimescaleResource()},
)
REPO = Path(__file__).resolve().parents[3]


def _load_target(location: str) -> InProcessWorkspaceLoadTarget:
    origin = LoadableTargetOrigin(executable_path=sys.executable, python_file=__file__, attribute="INGEST_ONLY",
                                  working_directory=str(REPO))
    return InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name=location))


@contextmanager
def _daemon(location: str) -> Iterator[tuple[dg.DagsterInstance, object]]:
    """A freshly started daemon: a new instance object from DAGSTER_HOME and a new workspace."""
    with dg.DagsterInstance.get() as instance, create_test_daemon_workspace_context(
        _load_target(location), instance
    ) as workspace:
        yield instance, workspace


def _iterate(workspace: object, at: datetime, crash_after_first_run: bool = False) -> None:
    """One loop of the sensor daemon at wall time `at` (the ingest sensor waits 15 s between ticks)."""
    crash = {"ingest_sensor": {"RUN_CREATED": signal.SIGKILL}} if crash_after_first_run else None
    with freeze_time(at):
        list(execute_sensor_iteration(workspace, logging.getLogger("sensor-daemon"), None, None, {}, crash))


def _crashing_daemon(location: str, at: datetime) -> None:
    """The daemon process that dies (SIGKILL) right after creating the tick's first run."""
    with _daemon(location) as (_, workspace):
        _iterate(workspace, at, crash_after_first_run=True)


def _ingest_sensor(workspace: object) -> object:
    [entry] = workspace.create_request_context().get_code_location_entries().values()
    [repository] = entry.code_location.get_repositories().values()
    return repository.get_sensor("ingest_sensor")


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
        sensor = _ingest_sensor(workspace)
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
                _iterate(workspace, start + timedelta(seconds=seconds))
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

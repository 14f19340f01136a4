"""The repair sensor (issue 11: "a failed hourly rollup is redone only when new rows happen to
arrive for that hour"): hours holding rows their rollup missed, and hours and days whose latest
run failed for good, are re-requested without any new row; what is fine, in flight, or about to
be retried by Dagster is left alone."""

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from camcount_pipelines.definitions import defs
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups import compute, sensors
from camcount_pipelines.rollups.sensors import ingest_sensor, partition_key, repair_sensor
from camcount_pipelines.watermark import high_watermark


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"timescale": TimescaleResource()}))


def _crossing(conn: psycopg.Connection, camera_id: str, at: datetime) -> None:
    conn.execute(
        """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                            direction, class_name, confidence)
           VALUES (%s, %s, %s, 'door', 'run', 1, 'in', 'person', 0.9)""", (at, uuid.uuid4(), camera_id))
    conn.commit()


def _repairs(instance: dg.DagsterInstance, key: str) -> list[dg.RunRequest]:
    return [r for r in _tick(repair_sensor, instance).run_requests if r.partition_key == key]


def test_an_hour_whose_rows_were_never_rolled_up_is_requested_again(
    conn: psycopg.Connection, camera_id: str, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    hour = datetime(2024, 1, 22, 7, tzinfo=UTC)
    key = partition_key(hour)
    cursor = str(high_watermark(conn))
    _crossing(conn, camera_id, hour + timedelta(minutes=5))
    assert [r.partition_key for r in _tick(ingest_sensor, instance, cursor).run_requests] == [key]
    assert _repairs(instance, key) == []  # the ingest sensor's own run is due first
    # ... which never ran (the daemon was down, the run was lost): two minutes later it is repaired.
    monkeypatch.setattr(sensors, "REPAIR_AFTER", timedelta(0))
    [repair] = _repairs(instance, key)
    assert (repair.job_name, repair.tags[sensors.REPAIR_TAG]) == ("hourly_rollups_job", "stale")

    assert defs.resolve_job_def("hourly_rollups_job").execute_in_process(instance=instance, partition_key=key).success
    assert _repairs(instance, key) == []


@pytest.mark.parametrize(("job", "age"), [("hourly_rollups_job", timedelta(hours=30)),
                                         ("daily_rollups_job", timedelta(days=5))])
def test_a_partition_whose_latest_run_failed_for_good_is_requested_again(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, job: str, age: timedelta
) -> None:
    """A recent partition: the sensor looks back two days of hours and a week of days."""
    then = (datetime.now(UTC) - age).replace(minute=0, second=0, microsecond=0)
    key = partition_key(then) if job == "hourly_rollups_job" else then.date().isoformat()

    def broken(*args: object) -> None:
        raise dg.Failure("the database said no", allow_retries=False)

    run = defs.resolve_job_def(job)
    with monkeypatch.context() as patch:
        patch.setattr(compute, "rollup_hours", broken)
        patch.setattr(compute, "rollup_days", broken)
        failed = run.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
    assert not failed.success
    assert _repairs(instance, key) == []  # Dagster's own retries get their chance first
    monkeypatch.setattr(sensors, "REPAIR_AFTER", timedelta(0))
    [repair] = _repairs(instance, key)
    assert (repair.job_name, repair.run_key, repair.tags[sensors.REPAIR_TAG]) == (
        job, f"repair:{key}:{failed.run_id}", "failed")

    assert run.execute_in_process(instance=instance, partition_key=key).success
    assert _repairs(instance, key) == []

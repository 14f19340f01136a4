"""Failures page someone and heal (issue 11): a run that failed for good opens a `run_failed`
alert and posts it to the webhook; a run that Dagster will retry pages no one; the alert resolves
(posted too) once a run rebuilding the same partition succeeds, whichever job it was. Real runs
on a real instance; the run status sensors invoked as the daemon would."""

from datetime import UTC, datetime

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    WILL_RETRY_TAG,
)

from camcount_pipelines.alerts.runs import run_subjects
from camcount_pipelines.alerts.sensors import run_failure_alerts, run_success_resolves
from camcount_pipelines.definitions import defs
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.sensors import partition_key

REPOSITORY = defs.get_repository_def()


def _run_hour(instance: dg.DagsterInstance, key: str, tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("hourly_rollups_job").execute_in_process(
        instance=instance, partition_key=key, tags=tags, raise_on_error=False)


def _tick(sensor: dg.RunStatusSensorDefinition, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult,
          event: dg.DagsterEvent) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"timescale": TimescaleResource()},
        repository_def=REPOSITORY)
    sensor(context.for_run_failure() if event.is_run_failure else context)


def _alerts(conn: psycopg.Connection, subject: str) -> list[tuple]:
    rows = conn.execute("SELECT severity, resolved_at IS NOT NULL FROM ops.alerts WHERE rule = 'run_failed' "
                        "AND subject = %s ORDER BY alert_id", (subject,)).fetchall()
    conn.commit()
    return rows


def test_a_failed_run_pages_until_the_same_partition_succeeds(
    conn: psycopg.Connection, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, webhook: list[dict]
) -> None:
    key = partition_key(datetime(2024, 1, 9, 3, tzinfo=UTC))  # an hour no other test uses
    subject = f"rollups (hourly) [{key}]"
    real_rollup = compute.rollup_hours

    def broken(*args: object) -> None:
        raise dg.Failure("the database said no", allow_retries=False)

    monkeypatch.setattr(compute, "rollup_hours", broken)
    retried = _run_hour(instance, key, tags={WILL_RETRY_TAG: "true"})
    _tick(run_failure_alerts, instance, retried, retried.get_run_failure_event())
    assert _alerts(conn, subject) == [] and webhook == []  # Dagster retries it: no page yet

    failed = _run_hour(instance, key)
    assert not failed.success
    _tick(run_failure_alerts, instance, failed, failed.get_run_failure_event())
    _tick(run_failure_alerts, instance, failed, failed.get_run_failure_event())  # a replayed tick
    assert _alerts(conn, subject) == [("error", False)]
    [posted] = webhook
    assert (posted["state"], posted["rule"], posted["subject"]) == ("opened", "run_failed", subject)
    assert "the database said no" in posted["message"]

    monkeypatch.setattr(compute, "rollup_hours", real_rollup)
    repaired = _run_hour(instance, key)
    assert repaired.success
    _tick(run_success_resolves, instance, repaired, repaired.get_run_success_event())
    assert _alerts(conn, subject) == [("error", True)]
    assert [(hook["state"], hook["subject"]) for hook in webhook] == [("opened", subject), ("resolved", subject)]


@pytest.mark.parametrize(("job", "assets", "tags", "subjects"), [
    ("hourly_rollups_job", None, {PARTITION_NAME_TAG: "2024-05-06-10:00"}, ["rollups (hourly) [2024-05-06-10:00]"]),
    ("daily_rollups_job", None, {PARTITION_NAME_TAG: "2024-05-06"}, ["rollups (daily) [2024-05-06]"]),
    # The calendar sensor's backfill of three days fails: the repair sensor's daily runs resolve each day.
    ("__ASSET_JOB", {("rollup", "crossings_daily"), ("rollup", "dwell_daily")},
     {ASSET_PARTITION_RANGE_START_TAG: "2024-05-05", ASSET_PARTITION_RANGE_END_TAG: "2024-05-07"},
     ["rollups (daily) [2024-05-05]", "rollups (daily) [2024-05-06]", "rollups (daily) [2024-05-07]"]),
    ("__ASSET_JOB", {("staging", "stg_ops__sites"), ("marts", "dim_sites")}, {}, ["marts"]),
    ("daily_report_job", None, {PARTITION_NAME_TAG: "2024-05-06"}, ["reports (daily) [2024-05-06]"]),
    ("raw_checks_job", None, {}, ["raw_checks_job"]),
])
def test_runs_are_named_by_what_they_rebuild(job: str, assets: set | None, tags: dict, subjects: list[str]) -> None:
    run = dg.DagsterRun(job_name=job, tags=tags,
                        asset_selection=frozenset(dg.AssetKey(list(key)) for key in assets) if assets else None)
    assert run_subjects(run, REPOSITORY) == subjects

"""Failed runs heal before anyone is paged (issue 11: "Dagster run retries are off"): a step that
fails once is retried after a backoff and its run succeeds; every rollup, mart and report asset
retries its steps, and their runs are retried by the daemon when their process dies."""

import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.tags import WILL_RETRY_TAG

from camcount_pipelines.definitions import defs
from camcount_pipelines.instance import fail_orphaned_runs, instance_config
from camcount_pipelines.retries import MAX_RETRIES, RUN_RETRY_TAGS, STEP_RETRY
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.sensors import partition_key

HEALED_GROUPS = {"rollups", "marts", "reports"}


def test_a_step_that_fails_once_is_retried_after_a_backoff(
    database_url: str, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[float] = []
    rollup = compute.rollup_hours

    def flaky(*args: object) -> compute.RollupResult:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")  # a database restart
        return rollup(*args)

    monkeypatch.setattr(compute, "rollup_hours", flaky)
    asset = defs.get_assets_def(dg.AssetKey(["rollup", "crossings_hourly"]))
    result = dg.materialize([asset], instance=instance, resources=defs.resources,
                            partition_key=partition_key(datetime(2024, 1, 23, 4, tzinfo=UTC)))
    assert result.success
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= STEP_RETRY.delay


def test_rollup_mart_and_report_runs_retry() -> None:
    graph = defs.resolve_asset_graph()
    healed = [node for node in graph.asset_nodes if node.group_name in HEALED_GROUPS and node.is_executable]
    assert {node.group_name for node in healed} == HEALED_GROUPS
    assert [node.key for node in healed if defs.get_assets_def(node.key).op.retry_policy != STEP_RETRY] == []
    jobs = [job for job in defs.get_repository_def().get_all_jobs() if job.name.endswith(("rollups_job", "report_job"))]
    assert len(jobs) == 6 and all(RUN_RETRY_TAGS.items() <= job.tags.items() for job in jobs)
    for sensor in ("marts_automation_sensor", "calendar_rollups_sensor"):
        assert RUN_RETRY_TAGS.items() <= defs.get_sensor_def(sensor).run_tags.items()
    assert instance_config()["run_retries"]["enabled"] and MAX_RETRIES == 2


def test_a_run_a_stopped_demo_left_started_is_failed_and_retried(dagster_home: Path) -> None:
    """Ctrl-C ends `dagster dev` and the run processes with it: their runs stayed STARTED, holding
    both run slots, and the next demo's queue never moved."""
    with dg.DagsterInstance.get() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="hourly_rollups_job", status=dg.DagsterRunStatus.STARTED,
                                             tags=RUN_RETRY_TAGS))
        assert fail_orphaned_runs(instance) == [run.run_id]
        left = instance.get_run_by_id(run.run_id)
        assert left.status == dg.DagsterRunStatus.FAILURE and left.tags[WILL_RETRY_TAG] == "true"
        assert fail_orphaned_runs(instance) == []

"""Two dbt runs against one database never overlap (issue 11: a marts run failed with `relation
"staging.int_site_hourly_crossings" does not exist` while another build re-created that view).

Real but for the process per run: the demo's instance configuration on Postgres, two marts runs
submitted together through Dagster's GraphQL API as the UI submits them, Dagster's run queue
daemon deciding when each starts, and dbt building for real (each run in a thread of its own).
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql

from camcount_pipelines.instance import ensure_pools
from tests.camcount_pipelines.daemon import THREAD_LAUNCHER, daemon_workspace

# A small model (a view and its tests): each run is a whole dbt invocation, in seconds.
MODEL = ["staging", "stg_rollup__dwell_hourly"]
ACTIVE = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}


def test_two_marts_runs_submitted_together_run_one_after_the_other(dagster_home: Path) -> None:
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump({**config, **THREAD_LAUNCHER}))
    with dg.DagsterInstance.get() as instance, daemon_workspace(instance) as workspace:
        ensure_pools(instance)  # as the demo prepares its instance,
        ensure_pools(instance)  # each time it starts
        assert instance.event_log_storage.get_concurrency_info("dbt").slot_count == 1
        params = {"executionParams": {"selector": {
            "repositoryLocationName": "camcount", "repositoryName": "__repository__", "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": MODEL}]}, "mode": "default"}}
        for _ in range(2):
            launched = execute_dagster_graphql(workspace.create_request_context(), LAUNCH_PIPELINE_EXECUTION_MUTATION,
                                               params)
            assert launched.data["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", launched
        run_ids = [run.run_id for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED]))]
        assert len(run_ids) == 2

        queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
        most_at_once, deadline = 0, time.monotonic() + 180
        while time.monotonic() < deadline:
            list(queue.run_iteration(workspace))
            runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
            most_at_once = max(most_at_once, sum(run.status in ACTIVE for run in runs))
            if all(run.is_finished for run in runs):
                break
            time.sleep(0.2)
        instance.run_launcher.join()
        records = sorted(instance.get_run_records(RunsFilter(run_ids=run_ids)), key=lambda r: r.start_time or 0)
    assert [r.dagster_run.status for r in records] == [DagsterRunStatus.SUCCESS] * 2, records
    assert most_at_once == 1
    first, second = records
    assert first.end_time <= second.start_time

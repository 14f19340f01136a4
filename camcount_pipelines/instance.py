"""The Dagster instance: run and event storage on Postgres, queued runs, pools, no telemetry.

The storage URL never lands in dagster.yaml: the file names the env var
CAMCOUNT_DAGSTER_POSTGRES_URL, which `ensure_dagster_home` fills from camcount's own database
settings when unset, so a password given through the environment stays there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from camcount.db.dsn import DAGSTER_DB, database_url, sqlalchemy_url

if TYPE_CHECKING:
    from dagster import DagsterInstance

POSTGRES_URL_ENV = "CAMCOUNT_DAGSTER_POSTGRES_URL"
# 2 cores: more concurrent runs only thrash (each run is a process of ~300 MB).
MAX_CONCURRENT_RUNS = 2
# A pool is something one run at a time may use. The run queue holds a run until no other run using
# its pool is in progress. dbt's target database is one: a build drops and re-creates the views
# that another build reads ("relation does not exist"); the dbt assets name it.
DBT_POOL = "dbt"
POOLS = (DBT_POOL,)
POOL_LIMIT = 1


def instance_config() -> dict:
    return {
        "storage": {"postgres": {"postgres_url": {"env": POSTGRES_URL_ENV}}},
        "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
        "concurrency": {
            "runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
            "pools": {"granularity": "run", "default_limit": POOL_LIMIT},
        },
        "telemetry": {"enabled": False},
        # Runs whose process died; failed steps retry in their run, with backoff (camcount_pipelines.retries).
        "run_retries": {"enabled": True, "max_retries": 0, "retry_on_asset_or_op_failure": False},
        # A run launched but never started (its process failed to come up) fails after 3 minutes,
        # so it stops holding a run slot; run retries then redo it.
        "run_monitoring": {"enabled": True, "start_timeout_seconds": 180, "max_resume_run_attempts": 0},
        "sensors": {"use_threads": True, "num_workers": 2},
        "schedules": {"use_threads": True, "num_workers": 1},
    }


def ensure_pools(instance: DagsterInstance) -> None:
    """Create each pool's limit now. Dagster creates it when it first dequeues a run of the pool, but
    only after counting that pool's runs: the first runs queued together would all start at once.
    (Only missing ones: on Postgres, Dagster's initialization fails for a pool that exists.)"""
    storage = instance.event_log_storage
    for pool in set(POOLS) - set(storage.get_concurrency_keys()):
        storage.initialize_concurrency_limit_to_default(pool)


def fail_orphaned_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the runs a stopped session left in progress (Ctrl-C ends the processes running
    them, which then never report), so they stop holding run slots and pools, and run retries redo
    them. Only where every Dagster process of the instance starts after this call: the demo."""
    from dagster import DagsterRunStatus, RunsFilter

    orphaned = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                                                      DagsterRunStatus.CANCELING]))
    for run in orphaned:
        instance.report_run_failed(run, "its process ended with the Dagster session that ran it")
    return [run.run_id for run in orphaned]


def ensure_dagster_home(home: Path) -> Path:
    """Write `home/dagster.yaml` and export the variables Dagster needs; returns the absolute home."""
    home = home.resolve()  # Dagster rejects a relative DAGSTER_HOME
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(), sort_keys=False))
    os.environ.setdefault(POSTGRES_URL_ENV, sqlalchemy_url(database_url(DAGSTER_DB)))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    return home

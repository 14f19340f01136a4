"""The Dagster instance: run and event storage on Postgres, queued runs, no telemetry.

The storage URL never lands in dagster.yaml: the file names the env var
CAMCOUNT_DAGSTER_POSTGRES_URL, which `ensure_dagster_home` fills from camcount's own database
settings when unset, so a password given through the environment stays there.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from camcount.db.dsn import DAGSTER_DB, database_url, sqlalchemy_url

POSTGRES_URL_ENV = "CAMCOUNT_DAGSTER_POSTGRES_URL"
# 2 cores: more concurrent runs only thrash (each run is a process of ~300 MB).
MAX_CONCURRENT_RUNS = 2


def instance_config() -> dict:
    return {
        "storage": {"postgres": {"postgres_url": {"env": POSTGRES_URL_ENV}}},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
        },
        "telemetry": {"enabled": False},
        "run_retries": {"enabled": False},
        "sensors": {"use_threads": True, "num_workers": 2},
        "schedules": {"use_threads": True, "num_workers": 1},
    }


def ensure_dagster_home(home: Path) -> Path:
    """Write `home/dagster.yaml` and export the variables Dagster needs; returns the absolute home."""
    home = home.resolve()  # Dagster rejects a relative DAGSTER_HOME
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(), sort_keys=False))
    os.environ.setdefault(POSTGRES_URL_ENV, sqlalchemy_url(database_url(DAGSTER_DB)))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    return home

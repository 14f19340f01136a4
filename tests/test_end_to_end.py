"""The thin slice end to end, all real: sample clip -> worker (default detector, ByteTrack, lines) ->
TimescaleDB -> Dagster hourly rollup -> dbt mart. Every stage must agree with the one before."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from bench.harness.worker_configs import camera, db_totals, line_totals, write_config
from camcount_pipelines.definitions import defs
from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource
from realtime_worker.config import load_config
from realtime_worker.runner import run_worker
from tests.conftest import private_database

CAMERA = "e2e-plaza"


@pytest.fixture(scope="module")
def e2e_url(database_url: str) -> Iterator[str]:
    with private_database("camcount_test_e2e") as url:
        yield url


def test_video_to_mart(e2e_url: str, sample_video: Path, tmp_path: Path) -> None:
    # 1. The worker counts the clip; what it reports is exactly what the hypertable holds.
    config = load_config(write_config(tmp_path / "w.yaml", [camera(CAMERA, sample_video)]))
    summary = run_worker(config, database_url=e2e_url, home=tmp_path, camera_ids=None, stop=threading.Event())
    with psycopg.connect(e2e_url, autocommit=True) as db:
        assert db_totals(db, CAMERA) == line_totals(summary, CAMERA)
        assert sum(line_totals(summary, CAMERA).values()) > 0
        # 2. Running it again over the same file adds no duplicate row.
        run_worker(config, database_url=e2e_url, home=tmp_path, camera_ids=None, stop=threading.Event())
        assert db_totals(db, CAMERA) == line_totals(summary, CAMERA)
        hours = [h for (h,) in db.execute(
            "SELECT DISTINCT to_char(time_bucket('1 hour', time) AT TIME ZONE 'UTC', 'YYYY-MM-DD-HH24:00') "
            "FROM raw.crossing_events ORDER BY 1")]

    # 3. Dagster rolls up exactly those hours: per hour, the rollup totals equal the raw totals.
    with dg.instance_for_test() as instance:
        for hour in hours:
            result = defs.resolve_job_def("hourly_rollups_job").execute_in_process(instance=instance,
                                                                                   partition_key=hour)
            assert result.success
        # 4. dbt builds the marts on top (with its tests), through dagster-dbt.
        assert dg.materialize([camcount_dbt_assets], resources={"dbt": dbt_resource()}, instance=instance).success
    with psycopg.connect(e2e_url, autocommit=True) as db:
        raw = db.execute(
            """SELECT time_bucket('1 hour', time), line_id, direction, count(*) FROM raw.crossing_events
               WHERE camera_id = %s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", (CAMERA,)).fetchall()
        rollup = db.execute(
            """SELECT bucket, line_id, direction, sum(crossings) FROM rollup.crossings_hourly
               WHERE camera_id = %s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", (CAMERA,)).fetchall()
        mart = db.execute(
            """SELECT bucket_utc, line_id, direction, sum(crossings) FROM marts.fct_crossings_hourly
               WHERE camera_id = %s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", (CAMERA,)).fetchall()
    assert rollup == raw
    assert mart == rollup

"""The code location loads as `dagster dev` would load it, sensors and schedules start RUNNING,
and the instance configuration is what the demo needs."""

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest
import yaml

from camcount.errors import ConfigError
from camcount_pipelines.definitions import defs
from camcount_pipelines.instance import POSTGRES_URL_ENV, ensure_dagster_home
from camcount_pipelines.rollups.assets import calendar_cron

REPO = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate_passes(tmp_path: Path) -> None:
    # A DAGSTER_HOME of its own: without one, Dagster makes a temporary home in the repo.
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sensors_and_schedules_default_to_running() -> None:
    repo = defs.get_repository_def()
    assert {s.default_status for s in repo.sensor_defs} == {dg.DefaultSensorStatus.RUNNING}
    assert {s.default_status for s in repo.schedule_defs} == {dg.DefaultScheduleStatus.RUNNING}


def test_lineage_raw_to_rollups_to_marts_to_reports() -> None:
    graph = defs.resolve_asset_graph()
    chain = [["raw", "crossing_events"], ["rollup", "crossings_hourly"], ["staging", "stg_rollup__crossings_hourly"],
             ["marts", "fct_crossings_hourly"], ["reports", "daily_kpis"]]
    for parent, child in pairwise(chain):
        assert dg.AssetKey(parent) in graph.get(dg.AssetKey(child)).parent_keys, (parent, child)
    assert dg.AssetKey(["rollup", "crossings_hourly"]) in graph.get(
        dg.AssetKey(["rollup", "crossings_daily"])).parent_keys
    # Local days are the rollups': the daily marts read them, never re-sum hours.
    daily = [["rollup", "crossings_daily"], ["staging", "stg_rollup__crossings_daily"],
             ["marts", "fct_crossings_daily"], ["marts", "fct_site_daily_kpis"]]
    for parent, child in pairwise(daily):
        assert dg.AssetKey(parent) in graph.get(dg.AssetKey(child)).parent_keys, (parent, child)
    for report in ("daily_kpis", "weekly_kpis"):
        assert {key.path[0] for key in graph.get(dg.AssetKey(["reports", report])).parent_keys} == {"marts"}


def test_marts_are_kept_fresh_by_an_automation_sensor() -> None:
    sensor = defs.get_sensor_def("marts_automation_sensor")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.minimum_interval_seconds <= 30
    marts = sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert dg.AssetKey(["marts", "fct_crossings_hourly"]) in marts


def test_instance_config_keeps_the_url_out_of_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, "postgresql+psycopg2://u:secret@db.invalid/dagster")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_dagster_home(tmp_path / "dagster")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["postgres"]["postgres_url"] == {"env": POSTGRES_URL_ENV}
    assert config["telemetry"] == {"enabled": False}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}  # tests/.../marts/test_pool.py
    assert "secret" not in (home / "dagster.yaml").read_text()
    assert os.environ["DAGSTER_HOME"] == str(home) and home.is_absolute()


def test_the_running_periods_depend_on_no_partition_that_does_not_exist_yet() -> None:
    """Dagster's automation submits partitioned rollups as backfills, and a backfill fails whole
    when a requested partition depends on partitions that do not exist: the running month on
    days past the daily partitions' end failed every calendar backfill after the first, and the
    days requested with it were never rolled up (the soak test, issue 11). Every time-partitioned
    dependency of the newest partitions must map onto existing partitions only."""
    graph = defs.resolve_asset_graph()
    offenders = []
    for key in graph.get_all_asset_keys():
        child = graph.get(key).partitions_def
        if not isinstance(child, dg.TimeWindowPartitionsDefinition):
            continue
        newest = child.subset_with_partition_keys(child.get_partition_keys()[-3:])
        for parent_key in graph.get(key).parent_keys:
            parent = graph.get(parent_key).partitions_def
            if not isinstance(parent, dg.TimeWindowPartitionsDefinition):
                continue
            mapped = graph.get_partition_mapping(key, parent_key).get_upstream_mapped_partitions_result_for_partitions(
                newest, child, parent)
            if missing := list(mapped.required_but_nonexistent_subset.get_partition_keys()):
                offenders.append(f"{key.to_user_string()} <- {parent_key.to_user_string()}: {missing[:3]}...")
    assert offenders == []


def test_a_bad_calendar_cron_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCOUNT_CALENDAR_ROLLUP_CRON", "every minute")
    with pytest.raises(ConfigError, match="CAMCOUNT_CALENDAR_ROLLUP_CRON='every minute' is not a cron schedule"):
        calendar_cron()
    monkeypatch.setenv("CAMCOUNT_CALENDAR_ROLLUP_CRON", "* * * * *")
    assert calendar_cron() == "* * * * *"

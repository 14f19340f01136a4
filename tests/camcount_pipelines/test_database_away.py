"""A database restart fails no sensor tick: the sensors that keep their state in the database skip
the tick and say why, and the next tick catches up (issue 11: the platform must stay green while
the database restarts)."""

import dagster as dg
import pytest

from bench.harness.net import free_port
from camcount_pipelines.alerts.rules import AlertRules
from camcount_pipelines.alerts.sensors import alerts_sensor
from camcount_pipelines.raw.sensors import platform_events_sensor, raw_observation_sensor
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.role import PIPELINES_DATABASE_URL_ENV
from camcount_pipelines.rollups.sensors import ingest_sensor, repair_sensor


@pytest.mark.parametrize("sensor", [ingest_sensor, repair_sensor, raw_observation_sensor, platform_events_sensor,
                                    alerts_sensor], ids=lambda sensor: sensor.name)
def test_a_tick_while_the_database_is_away_is_skipped(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PIPELINES_DATABASE_URL_ENV, f"postgresql://camcount_pipelines@127.0.0.1:{free_port()}/camcount")
    context = dg.build_sensor_context(
        instance=instance, resources={"timescale": TimescaleResource(), "alert_rules": AlertRules()})
    result = sensor(context)
    assert isinstance(result, dg.SkipReason) and "database unavailable" in result.skip_message
    assert "Connection refused" in result.skip_message

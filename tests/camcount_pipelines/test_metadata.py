"""Metadata holds only values Dagster accepts. Postgres computes numeric for extract(epoch ...) and
sum(bigint), which arrives as Decimal: Dagster refuses it, and raw_observation_sensor failed on
every tick of a running platform. These tests run the sensors and checks on real rows."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
from dagster._core.scheduler.instigation import TickStatus

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.checks import rollup_matches_raw
from tests.camcount_pipelines.daemon import QUEUED_RUNS, daemon_workspace, latest_ticks, tick_sensors
from tests.conftest import private_database


def test_every_sensor_ticks_without_error_through_the_daemon(database_url: str) -> None:
    """One loop of Dagster's sensor daemon over the real code location and a database holding a
    day of every raw table: no sensor's tick fails."""
    with private_database("camcount_test_ticks") as url:
        with psycopg.connect(url) as conn:
            insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=date(2024, 5, 6), days=1,
                                       prefix="ticks-", scale=0.1)
            conn.execute("""INSERT INTO raw.platform_events (time, event_id, kind, severity, camera_id, message)
                            VALUES (now(), gen_random_uuid(), 'source_down', 'error', 'ticks-cam', 'gone')""")
        with dg.instance_for_test(overrides=QUEUED_RUNS) as instance, daemon_workspace(instance) as workspace:
            tick_sensors(workspace)
            ticks = latest_ticks(workspace)
            [observed] = instance.fetch_observations(raw_key("crossing_events"), limit=1).records
    failed = {name: tick.error.message for name, tick in ticks.items() if tick.status == TickStatus.FAILURE}
    assert not failed
    assert {"ingest_sensor", "raw_observation_sensor", "platform_events_sensor", "alerts_sensor"} <= set(ticks)
    assert observed.asset_observation.metadata["lag_s"].value > 0  # it observed the new rows


def test_a_rollup_that_disagrees_with_raw_names_its_hours(conn: psycopg.Connection, camera_id: str) -> None:
    """The matches_raw check's failure path: its metadata lists the hours that differ."""
    hour = datetime(2024, 6, 3, 10, tzinfo=UTC)
    conn.execute(
        """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                            direction, class_name, confidence)
           VALUES (%s, gen_random_uuid(), %s, 'door', 'run', 1, 'in', 'person', 0.9)""",
        (hour + timedelta(minutes=5), camera_id))
    conn.commit()
    seq = compute.rollup_hours(conn, "crossings_hourly", hour, hour + timedelta(hours=1)).ingest_seq
    conn.execute("UPDATE rollup.crossings_hourly SET crossings = crossings + 4 WHERE camera_id = %s", (camera_id,))
    result = rollup_matches_raw(conn, "crossings_hourly", hour, hour + timedelta(hours=1), seq)
    conn.rollback()
    assert not result.passed
    [mismatch] = result.metadata["first_mismatches"].data
    assert mismatch["hour"] == hour.isoformat() and mismatch["rollup"] - mismatch["raw"] == 4

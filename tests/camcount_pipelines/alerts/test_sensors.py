"""An injected latency spike opens exactly one alert; it stays one while active; recovery resolves it."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg

from camcount_pipelines.alerts.rules import AlertRules
from camcount_pipelines.alerts.sensors import alerts_sensor
from camcount_pipelines.resources import TimescaleResource


def _health(conn: psycopg.Connection, camera: str, start: datetime, samples: int, e2e_ms: float) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO raw.stream_health (time, camera_id, input_fps, processed_fps, dropped_frames,
                                              e2e_ms_p95, queue_depth, quality, ingested_at)
               VALUES (%s, %s, 10, 10, 0, %s, 2, 0.95, %s)""",
            [(start + timedelta(seconds=10 * i), camera, e2e_ms, start + timedelta(seconds=10 * i, milliseconds=200))
             for i in range(samples)],
        )
    conn.commit()


def _tick(instance: dg.DagsterInstance, window_s: float) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance,
        resources={"timescale": TimescaleResource(), "alert_rules": AlertRules(window_s=window_s)},
    )
    return alerts_sensor(context)


def _alerts(conn: psycopg.Connection, camera: str) -> list[tuple]:
    rows = conn.execute(
        "SELECT rule, severity, resolved_at IS NOT NULL FROM ops.alerts WHERE subject = %s ORDER BY alert_id",
        (camera,),
    ).fetchall()
    conn.commit()
    return rows


def test_latency_spike_opens_one_alert_and_recovery_resolves_it(
    conn: psycopg.Connection, camera_id: str, instance: dg.DagsterInstance
) -> None:
    conn.execute("INSERT INTO ops.sites (site_id, name, timezone) VALUES ('alert-site', 'A', 'UTC') "
                 "ON CONFLICT DO NOTHING")
    conn.execute(
        "INSERT INTO ops.cameras (camera_id, site_id, name, source_kind) VALUES (%s, 'alert-site', 'c', 'file')",
        (camera_id,),
    )
    now = datetime.now(UTC)
    _health(conn, camera_id, now - timedelta(seconds=115), 6, e2e_ms=120.0)  # healthy
    _health(conn, camera_id, now - timedelta(seconds=55), 3, e2e_ms=7200.0)  # the spike

    result = _tick(instance, window_s=60)
    assert _alerts(conn, camera_id) == [("processing_latency", "error", False)]
    assert isinstance(result, dg.SensorResult) and result.asset_events[0].passed is False
    assert isinstance(_tick(instance, window_s=60), dg.SkipReason)  # still active: no duplicate
    assert _alerts(conn, camera_id) == [("processing_latency", "error", False)]

    _health(conn, camera_id, now - timedelta(seconds=25), 3, e2e_ms=130.0)  # recovered
    _tick(instance, window_s=20)
    assert _alerts(conn, camera_id) == [("processing_latency", "error", True)]

"""The rollups' sensors. The ingest sensor requests exactly the touched hours, replays dedupe, and
late data re-rolls its hour; the calendar sensor then recomputes the days, weeks and months above
a changed partition, however old, at most every 5 minutes."""

import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
from dagster._core.storage.tags import PARTITION_NAME_TAG

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups.assets import calendar_rollups, daily_rollups, hourly_rollups, rollup_key
from camcount_pipelines.rollups.compute import HOURLY_SOURCES
from camcount_pipelines.rollups.sensors import ingest_sensor, partition_key
from camcount_pipelines.watermark import high_watermark

HOURLY = [dg.AssetKey(["rollup", t]) for t in HOURLY_SOURCES]


def _tick(instance: dg.DagsterInstance, cursor: str) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"timescale": TimescaleResource()}
    )
    return ingest_sensor(context)


def test_requests_exactly_touched_hours_and_replays_dedupe(
    conn: psycopg.Connection, prefix: str, instance: dg.DagsterInstance
) -> None:
    cursor = str(high_watermark(conn))
    data = insert_realistic_crossings(
        conn, sites=1, cameras_per_site=2, start=date(2024, 5, 6), days=1, prefix=prefix, scale=0.2,
        health=False,
    )
    result = _tick(instance, cursor)
    touched = conn.execute(
        """SELECT DISTINCT time_bucket('1 hour', time) FROM (
             SELECT time FROM raw.crossing_events WHERE camera_id LIKE %(p)s
             UNION ALL SELECT time FROM raw.zone_events WHERE camera_id LIKE %(p)s
             UNION ALL SELECT time FROM raw.zone_occupancy WHERE camera_id LIKE %(p)s) t""",
        {"p": f"{prefix}%"},
    ).fetchall()
    requested = [r.partition_key for r in result.run_requests]
    assert sorted(requested) == sorted(partition_key(hour) for (hour,) in touched)
    assert len(requested) >= 24 and len(set(requested)) == len(requested)
    assert int(result.cursor) > int(cursor)
    assert data.start_utc.strftime("%Y-%m-%d-%H:%M") in requested

    # The same tick replayed yields the same run keys (the daemon dedupes them) ...
    assert [r.run_key for r in _tick(instance, cursor).run_requests] == [r.run_key for r in result.run_requests]
    # ... and the next tick, from the stored cursor, requests nothing.
    assert _tick(instance, result.cursor).run_requests == []


def test_late_event_rematerializes_its_old_hour_and_totals_match_raw(
    conn: psycopg.Connection, prefix: str, instance: dg.DagsterInstance, materialize_range
) -> None:
    data = insert_realistic_crossings(
        conn, sites=1, cameras_per_site=1, start=date(2024, 5, 13), days=1, prefix=prefix, scale=0.2,
        zones=False, health=False,
    )
    assert materialize_range(HOURLY, data.start_utc, data.end_utc - timedelta(hours=1)).success
    cursor = str(high_watermark(conn))

    camera = data.cameras[0]
    late_at = data.start_utc + timedelta(hours=5, minutes=17)
    conn.execute(
        """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                            direction, class_name, confidence)
           VALUES (%s, %s, %s, 'door', 'late-run', 1, 'in', 'person', 0.9)""",
        (late_at, uuid.uuid4(), camera),
    )
    conn.commit()
    result = _tick(instance, cursor)
    late_key = partition_key(late_at.replace(minute=0))
    assert [r.partition_key for r in result.run_requests] == [late_key]

    run = result.run_requests[0]
    assert materialize_range(HOURLY, late_at.replace(minute=0), late_at.replace(minute=0)).success, run
    rolled, raw = conn.execute(
        """SELECT (SELECT sum(crossings) FROM rollup.crossings_hourly WHERE camera_id = %(c)s),
                  (SELECT count(*) FROM raw.crossing_events WHERE camera_id = %(c)s)""",
        {"c": camera},
    ).fetchone()
    assert rolled == raw == data.total_crossings() + 1


def test_calendar_rollups_follow_a_late_hour_and_then_their_days(instance: dg.DagsterInstance) -> None:
    defs = dg.Definitions(assets=[*hourly_rollups, *daily_rollups, *calendar_rollups],
                          resources={"timescale": TimescaleResource()})
    now = datetime.now(UTC)
    tick = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)  # a 5-minute cron tick
    cursor = None

    def requested(after: timedelta) -> dict[str, list[str]]:
        nonlocal cursor
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=tick + after,
                                                   cursor=cursor)
        cursor = result.cursor
        keys = [asset.key for asset in (*daily_rollups, *calendar_rollups)]
        return {key.path[1]: sorted(result.get_requested_partitions(key)) for key in keys
                if result.get_num_requested(key)}

    assert requested(timedelta(seconds=30)) == {}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=rollup_key("crossings_hourly"), partition="2024-05-06-10:00")
    )
    assert requested(timedelta(seconds=90)) == {}  # at most every 5 minutes
    # Every local day that may hold that UTC hour, whatever the site's timezone.
    assert requested(timedelta(minutes=5, seconds=30)) == {"crossings_daily": ["2024-05-05", "2024-05-06",
                                                                               "2024-05-07"]}
    assert requested(timedelta(minutes=6, seconds=30)) == {}  # handled
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=rollup_key("crossings_daily"), partition="2024-05-06")
    )
    assert requested(timedelta(minutes=10, seconds=30)) == {"crossings_weekly": ["2024-05-06"],
                                                            "crossings_monthly": ["2024-05-01"]}



def _alert(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute("""SELECT severity, value, message FROM ops.alerts
                           WHERE rule = 'rows_outside_partitions' AND resolved_at IS NULL""").fetchall()
    conn.commit()
    return rows


def test_rows_outside_the_partitions_open_an_alert_and_stay_stale(
    conn: psycopg.Connection, camera_id: str, instance: dg.DagsterInstance, webhook: list[dict]
) -> None:
    """Rows before CAMCOUNT_PARTITIONS_START or in the future have no hourly partition: the sensor
    requests no run for them (a DagsterUnknownPartitionError before), opens an alert while they
    exist, and leaves their hours stale for the repair sensor, to roll up once their hour comes."""
    cursor = str(high_watermark(conn))
    too_old = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    ahead = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) + timedelta(hours=3)
    for moment in (too_old, ahead):
        conn.execute(
            """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                                direction, class_name, confidence)
               VALUES (%s, %s, %s, 'door', 'run', 1, 'in', 'person', 0.9)""", (moment, uuid.uuid4(), camera_id))
    conn.commit()

    result = _tick(instance, cursor)
    assert result.run_requests == []
    [(severity, rows, message)] = _alert(conn)
    assert severity == "error" and rows >= 2 and "2023-12-31 23:30" in message
    assert [(hook["state"], hook["rule"]) for hook in webhook] == [("opened", "rows_outside_partitions")]
    assert int(result.cursor) > int(cursor)  # the cursor moves on, the hours stay stale:
    stale = dict(conn.execute("SELECT bucket, touched_seq > coalesce(rollup_seq, 0) FROM rollup.hour_watermarks "
                              "WHERE bucket = ANY(%s)", ([too_old.replace(minute=0), ahead.replace(minute=0)],)))
    assert stale == {too_old.replace(minute=0): True, ahead.replace(minute=0): True}

    _tick(instance, result.cursor)  # still there: the same alert, no second page
    assert len(_alert(conn)) == 1 and len(webhook) == 1
    conn.execute("DELETE FROM raw.crossing_events WHERE camera_id = %s", (camera_id,))
    conn.commit()
    _tick(instance, result.cursor)
    assert _alert(conn) == []
    assert [(hook["state"], hook["rule"]) for hook in webhook][-1] == ("resolved", "rows_outside_partitions")


def test_an_hour_with_a_run_still_queued_gets_no_second_one(
    conn: psycopg.Connection, camera_id: str, instance: dg.DagsterInstance
) -> None:
    """Live cameras touch the running hour every tick: one queued run covers them all, since it
    takes the watermark when it starts (a run per tick piled up behind it, delaying the marts)."""
    queued, free = datetime(2024, 1, 29, 5, tzinfo=UTC), datetime(2024, 1, 29, 6, tzinfo=UTC)
    instance.add_run(dg.DagsterRun(job_name="hourly_rollups_job", status=dg.DagsterRunStatus.NOT_STARTED,
                                   tags={PARTITION_NAME_TAG: partition_key(queued)}))
    cursor = str(high_watermark(conn))
    for hour in (queued, free):
        conn.execute(
            """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,
                                                direction, class_name, confidence)
               VALUES (%s, %s, %s, 'door', 'run', 1, 'in', 'person', 0.9)""",
            (hour + timedelta(minutes=5), uuid.uuid4(), camera_id))
    conn.commit()
    assert [r.partition_key for r in _tick(instance, cursor).run_requests] == [partition_key(free)]

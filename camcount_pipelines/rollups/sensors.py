"""The rollups' sensors. The streaming sensor follows raw.ingest_seq and rolls up exactly the UTC
hours that new rows touched; the calendar sensor then recomputes the days, weeks and months whose
hours or days changed; the repair sensor re-requests what is left behind: hours holding rows their
rollup missed, and hours and days whose latest run failed for good.

The ingest sensor's cursor is the ingest high watermark (raw.ingest_high_watermark(): every lower
seq is committed, so no row is ever skipped). A tick reads rows with seq in (cursor, watermark] and
requests one run per touched hour, keyed by hour and watermark: a replayed tick requests the same
keys, which Dagster dedupes. Late data simply touches an old hour, which is rolled up again. The
cursor lives in the sensor's own cursor, stored by the instance, so it survives daemon restarts.

Rows timed outside the hourly partitions (before CAMCOUNT_PARTITIONS_START, or in the future: a
camera clock ahead, a user's own insert) cannot be rolled up. The cursor moves on, but not
silently: their hours stay stale in rollup.hour_watermarks, which the repair sensor rolls up once
they exist, and the ingest sensor keeps the `rows_outside_partitions` alert open while such rows
exist.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
from dagster._core.storage.tags import PARTITION_NAME_TAG
from psycopg import sql

from camcount_pipelines.alerts import rules
from camcount_pipelines.partitions import DAILY, HOURLY, hourly_window
from camcount_pipelines.resources import TimescaleResource, skip_while_database_unavailable
from camcount_pipelines.retries import RUN_RETRY_TAGS
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.assets import calendar_rollups, daily_rollups, hourly_rollups, rollup_key
from camcount_pipelines.rollups.compute import HOURLY_SOURCES
from camcount_pipelines.rollups.jobs import daily_rollups_job, hourly_rollups_job
from camcount_pipelines.watermark import high_watermark

_TOUCHED = sql.SQL("""
    SELECT time_bucket('1 hour', time) AS hour, max(ingest_seq) FILTER (WHERE crossing) AS crossing_seq,
           max(ingest_seq) AS seq
    FROM ({union}) AS t
    GROUP BY 1 ORDER BY 1
""")
REPAIR_TAG = "camcount/repair"  # on the repair sensor's runs: why (stale | failed)
# Rows seen this recently wait for the run the ingest sensor requested; a failed run for its retries.
REPAIR_AFTER = timedelta(minutes=2)
# The repair sensor looks for failed runs among this many of the latest partitions.
REPAIR_LOOKBACK = {"hourly": timedelta(hours=48), "daily": timedelta(days=7)}
_SELECT_NEW = sql.SQL(
    "SELECT time, ingest_seq, {crossing} AS crossing FROM {table} "
    "WHERE ingest_seq > %(cursor)s AND ingest_seq <= %(watermark)s"
)


@dataclass(frozen=True)
class Touched:
    watermark: int
    hours: list[datetime]  # UTC hour starts with new rows in any rolled-up raw table


def scan_new_rows(conn: psycopg.Connection, cursor: int) -> Touched:
    """Hours touched by rows in (cursor, watermark], marked in rollup.hour_watermarks: for the
    counters (crossings) and the repair sensor (every rolled-up table)."""
    watermark = high_watermark(conn)
    if watermark <= cursor:
        return Touched(watermark, [])
    union = sql.SQL(" UNION ALL ").join(
        _SELECT_NEW.format(table=sql.Identifier("raw", table), crossing=sql.Literal(table == "crossing_events"))
        for table in HOURLY_SOURCES.values()
    )
    params = {"cursor": cursor, "watermark": watermark}
    with conn.transaction():
        rows = conn.execute(_TOUCHED.format(union=union), params).fetchall()
        # Seen crossings make their hour dirty for the counters, and any seen row makes it stale
        # for the repair sensor, until a rollup at or above this seq runs.
        conn.cursor().executemany(
            """INSERT INTO rollup.hour_watermarks (bucket, seen_seq, touched_seq, touched_at)
               VALUES (%s, %s, %s, now())
               ON CONFLICT (bucket) DO UPDATE
               SET seen_seq = greatest(rollup.hour_watermarks.seen_seq, EXCLUDED.seen_seq),
                   touched_seq = greatest(rollup.hour_watermarks.touched_seq, EXCLUDED.touched_seq),
                   touched_at = now()""",
            rows,
        )
        # The counters trust scanned_seq only if every seq below it was scanned: advance it only
        # from where it stands (a sensor started with a later cursor leaves it behind, safely).
        conn.execute(
            "INSERT INTO rollup.ingest_cursor (scanned_seq) SELECT 0 ON CONFLICT (singleton) DO NOTHING"
        )
        conn.execute(
            """UPDATE rollup.ingest_cursor SET scanned_seq = %(watermark)s, updated_at = now()
               WHERE scanned_seq >= %(cursor)s AND scanned_seq < %(watermark)s""",
            params,
        )
    return Touched(watermark, [hour for hour, _, _ in rows])


def partition_key(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime("%Y-%m-%d-%H:%M")


@dg.sensor(
    job=hourly_rollups_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rolls up exactly the UTC hours that newly ingested raw rows touched; alerts on rows no "
    "hourly partition holds.",
)
@skip_while_database_unavailable
def ingest_sensor(context: dg.SensorEvaluationContext, timescale: TimescaleResource) -> dg.SensorResult:
    cursor = int(context.cursor or 0)
    with timescale.connection() as conn:
        touched = scan_new_rows(conn, cursor)
        outside = rules.rows_outside_partitions(conn, HOURLY_SOURCES.values(), *hourly_window())
        changes = rules.apply(conn, outside, {rules.ROWS_OUTSIDE_PARTITIONS: {rules.PLATFORM}})
    rules.notify(changes)
    waiting = _queued_hours(context.instance)  # looked up after the scan: see _queued_hours
    requests = []
    for hour in touched.hours:
        key = partition_key(hour)
        if HOURLY.has_partition_key(key) and key not in waiting:
            requests.append(dg.RunRequest(run_key=f"{key}@{touched.watermark}", partition_key=key))
    for firing in outside:
        context.log.warning(firing.message)
    return dg.SensorResult(run_requests=requests, cursor=str(max(cursor, touched.watermark)))


@dg.sensor(
    jobs=[hourly_rollups_job, daily_rollups_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-requests hours holding rows their rollup missed, and hours and days whose latest run "
    "failed for good: nothing stays stale because no new rows arrived.",
)
@skip_while_database_unavailable
def repair_sensor(context: dg.SensorEvaluationContext, timescale: TimescaleResource) -> dg.SensorResult:
    settled = datetime.now(UTC) - REPAIR_AFTER
    with timescale.connection() as conn:
        stale = compute.stale_hours(conn, seen_before=settled)
    requests = _stale_hour_requests(context.instance, stale)
    for job, partitions, assets, lookback in (
        (hourly_rollups_job, HOURLY, hourly_rollups, REPAIR_LOOKBACK["hourly"]),
        (daily_rollups_job, DAILY, daily_rollups, REPAIR_LOOKBACK["daily"]),
    ):
        now = datetime.now(UTC)
        keys = partitions.get_partition_keys_in_time_window(dg.TimeWindow(now - lookback, now))
        requests += _failed_partition_requests(context.instance, job.name, partitions, assets, keys, settled)
    unique = {request.run_key: request for request in requests}  # a failed, stale hour: one run
    return dg.SensorResult(run_requests=list(unique.values()))


def _queued_hours(instance: dg.DagsterInstance) -> set[str]:
    """Hours with an hourly rollup run that has not started: it takes the watermark when it starts,
    after this tick's scan, so it rolls up the rows just seen too. A run per tick would only queue
    up behind it (seconds each on 2 cores) and push the marts past their freshness budget."""
    runs = instance.get_runs(dg.RunsFilter(job_name=hourly_rollups_job.name,
                                           statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]))
    return {run.tags[PARTITION_NAME_TAG] for run in runs if PARTITION_NAME_TAG in run.tags}


def _stale_hour_requests(instance: dg.DagsterInstance, stale: list[tuple[datetime, int]]) -> list[dg.RunRequest]:
    """One run per stale hour that exists as a partition and has no run queued or running."""
    keys = {partition_key(hour): seq for hour, seq in stale if HOURLY.has_partition_key(partition_key(hour))}
    if not keys:
        return []
    status = instance.get_status_by_partition(rollup_key("crossings_hourly"), list(keys), HOURLY) or {}
    return [
        dg.RunRequest(job_name=hourly_rollups_job.name, partition_key=key, run_key=f"repair:{key}@{seq}",
                      tags={REPAIR_TAG: "stale"})
        for key, seq in keys.items() if status.get(key) != dg.AssetPartitionStatus.IN_PROGRESS
    ]


def _failed_partition_requests(
    instance: dg.DagsterInstance, job: str, partitions: dg.TimeWindowPartitionsDefinition,
    assets: list[dg.AssetsDefinition], keys: list[str], settled: datetime,
) -> list[dg.RunRequest]:
    """One run per partition whose latest run failed, retries spent, at least REPAIR_AFTER ago."""
    requests = []
    for asset in assets:
        status = instance.get_status_by_partition(asset.key, keys, partitions) or {}
        for key in [key for key, state in status.items() if state == dg.AssetPartitionStatus.FAILED]:
            planned = instance.get_latest_planned_materialization_info(asset.key, key)
            record = planned and instance.get_run_record_by_id(planned.run_id)
            if (record is None or record.dagster_run.is_complete_and_waiting_to_retry
                    or record.end_time is None or record.end_time > settled.timestamp()):
                continue
            requests.append(dg.RunRequest(job_name=job, partition_key=key, run_key=f"repair:{key}:{planned.run_id}",
                                          tags={REPAIR_TAG: "failed"}))
    return requests


calendar_rollups_sensor = dg.AutomationConditionSensorDefinition(
    "calendar_rollups_sensor",
    target=dg.AssetSelection.assets(*daily_rollups, *calendar_rollups),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    run_tags=RUN_RETRY_TAGS,
    description="Recomputes the local days, weeks and months whose input partitions changed (every 5 min at most).",
)

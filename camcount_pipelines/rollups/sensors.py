"""The rollups' sensors. The streaming sensor follows raw.ingest_seq and rolls up exactly the UTC
hours that new rows touched; the calendar sensor then recomputes the days, weeks and months whose
hours or days changed.

The ingest sensor's cursor is the ingest high watermark (raw.ingest_high_watermark(): every lower
seq is committed, so no row is ever skipped). A tick reads rows with seq in (cursor, watermark] and
requests one run per touched hour, keyed by hour and watermark: a replayed tick requests the same
keys, which Dagster dedupes. Late data simply touches an old hour, which is rolled up again. The
cursor lives in the sensor's own cursor, stored by the instance, so it survives daemon restarts.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import psycopg
from psycopg import sql

from camcount_pipelines.partitions import HOURLY
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups.assets import calendar_rollups, daily_rollups
from camcount_pipelines.rollups.compute import HOURLY_SOURCES
from camcount_pipelines.rollups.jobs import hourly_rollups_job
from camcount_pipelines.watermark import high_watermark

_TOUCHED = sql.SQL("""
    SELECT time_bucket('1 hour', time) AS hour, max(ingest_seq) FILTER (WHERE crossing) AS crossing_seq
    FROM ({union}) AS t
    GROUP BY 1 ORDER BY 1
""")
_SELECT_NEW = sql.SQL(
    "SELECT time, ingest_seq, {crossing} AS crossing FROM {table} "
    "WHERE ingest_seq > %(cursor)s AND ingest_seq <= %(watermark)s"
)


@dataclass(frozen=True)
class Touched:
    watermark: int
    hours: list[datetime]  # UTC hour starts with new rows in any rolled-up raw table


def scan_new_rows(conn: psycopg.Connection, cursor: int) -> Touched:
    """Hours touched by rows in (cursor, watermark], marked in rollup.hour_watermarks for counters."""
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
        # Seen crossings make their hour dirty until a rollup at or above this seq runs.
        conn.cursor().executemany(
            """INSERT INTO rollup.hour_watermarks (bucket, seen_seq) VALUES (%s, %s)
               ON CONFLICT (bucket) DO UPDATE
               SET seen_seq = greatest(rollup.hour_watermarks.seen_seq, EXCLUDED.seen_seq)""",
            [(hour, seq) for hour, seq in rows if seq is not None],
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
    return Touched(watermark, [hour for hour, _ in rows])


def partition_key(hour: datetime) -> str:
    return hour.astimezone(UTC).strftime("%Y-%m-%d-%H:%M")


@dg.sensor(
    job=hourly_rollups_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rolls up exactly the UTC hours that newly ingested raw rows touched.",
)
def ingest_sensor(context: dg.SensorEvaluationContext, timescale: TimescaleResource) -> dg.SensorResult:
    cursor = int(context.cursor or 0)
    with timescale.connection() as conn:
        touched = scan_new_rows(conn, cursor)
    requests = []
    for hour in touched.hours:
        key = partition_key(hour)
        if not HOURLY.has_partition_key(key):
            context.log.warning(f"rows for hour {key} are outside the hourly partitions (future or too old)")
            continue
        requests.append(dg.RunRequest(run_key=f"{key}@{touched.watermark}", partition_key=key))
    return dg.SensorResult(run_requests=requests, cursor=str(max(cursor, touched.watermark)))


calendar_rollups_sensor = dg.AutomationConditionSensorDefinition(
    "calendar_rollups_sensor",
    target=dg.AssetSelection.assets(*daily_rollups, *calendar_rollups),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Recomputes the local days, weeks and months whose input partitions changed (every 5 min at most).",
)

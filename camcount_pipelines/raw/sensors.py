"""Observation sensors for the raw tables (external assets, so Dagster learns about them only
from here): rows added, newest timestamp and lag per table, and the platform event log."""

import json
from collections import Counter

import dagster as dg
from psycopg import sql

from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.resources import TimescaleResource, skip_while_database_unavailable
from camcount_pipelines.watermark import high_watermark

# float8: extract() yields numeric, which arrives as Decimal, a type Dagster metadata refuses.
_NEW_ROWS = sql.SQL(
    """SELECT count(*), max(time), extract(epoch FROM now() - max(time))::float8,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - time))
       FROM {table} WHERE ingest_seq > %(cursor)s AND ingest_seq <= %(watermark)s"""
)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records an observation per raw table: rows added, newest timestamp, lag.",
)
@skip_while_database_unavailable
def raw_observation_sensor(
    context: dg.SensorEvaluationContext, timescale: TimescaleResource
) -> dg.SensorResult | dg.SkipReason:
    cursors = json.loads(context.cursor) if context.cursor else {}
    observations = []
    with timescale.connection() as conn:
        watermark = high_watermark(conn)
        for table in RAW_TABLE_NAMES:
            params = {"cursor": cursors.get(table, 0), "watermark": watermark}
            rows, newest, lag_s, ingest_p95_s = conn.execute(
                _NEW_ROWS.format(table=sql.Identifier("raw", table)), params
            ).fetchone()
            cursors[table] = watermark
            if rows:
                observations.append(
                    dg.AssetObservation(
                        asset_key=raw_key(table),
                        metadata={
                            "rows_added": rows,
                            "newest": dg.MetadataValue.timestamp(newest),
                            "lag_s": round(lag_s, 1),
                            "ingest_latency_p95_ms": round(ingest_p95_s * 1000, 1),
                        },
                    )
                )
    if not observations:
        return dg.SkipReason("no new raw rows")
    return dg.SensorResult(asset_events=observations, cursor=json.dumps(cursors))


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Follows raw.platform_events: logs warnings and errors, observes counts per kind.",
)
@skip_while_database_unavailable
def platform_events_sensor(
    context: dg.SensorEvaluationContext, timescale: TimescaleResource
) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    with timescale.connection() as conn:
        watermark = high_watermark(conn)
        events = conn.execute(
            """SELECT time, kind, severity, camera_id, message FROM raw.platform_events
               WHERE ingest_seq > %s AND ingest_seq <= %s ORDER BY ingest_seq""",
            (cursor, watermark),
        ).fetchall()
    if not events:
        return dg.SensorResult(cursor=str(max(cursor, watermark)))
    for time, kind, severity, camera, message in events:
        if severity != "info":
            log = context.log.error if severity == "error" else context.log.warning
            log(f"{time:%Y-%m-%d %H:%M:%S} {kind} {camera or ''}: {message}")
    kinds = Counter(f"{kind}/{severity}" for _, kind, severity, _, _ in events)
    observation = dg.AssetObservation(
        asset_key=raw_key("platform_events"),
        metadata={"events": len(events), "by_kind": dg.MetadataValue.json(dict(kinds)),
                  "newest": dg.MetadataValue.timestamp(max(t for t, *_ in events))},
    )
    return dg.SensorResult(asset_events=[observation], cursor=str(watermark))

"""Retention: per-table windows, enforced with drop_chunks.

Raw chunks are dropped only when every day in them is in the verified archive, exactly as the
database holds it (camcount_pipelines.archive.drop_archived_chunk); anything else is refused and
listed. Hourly rollups are derived data kept for a year (daily and coarser are kept forever);
resolved alerts are deleted after their window. `dry_run` lists what would go.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from psycopg import sql

from camcount_pipelines import archive
from camcount_pipelines.assets.archive import chunk_bounds
from camcount_pipelines.assets.raw import RAW_TABLES
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups import HOURLY_SOURCES

DEFAULT_WINDOWS_DAYS = {
    "raw.crossing_events": 30,
    "raw.zone_events": 30,
    "raw.zone_occupancy": 14,
    "raw.stream_health": 14,
    "raw.platform_events": 90,
    **{f"rollup.{table}": 400 for table in HOURLY_SOURCES},
    "ops.alerts": 180,
}


class RetentionConfig(dg.Config):
    dry_run: bool = False
    windows_days: dict[str, int] = DEFAULT_WINDOWS_DAYS
    # Ad-hoc runs (tests): only chunks inside [newer_than, older_than), ISO instants.
    newer_than: str | None = None
    older_than: str | None = None


@dg.asset(key=["ops", "retention"], deps=[["ops", "raw_archive"]], group_name="ops", kinds={"timescaledb"})
def retention(
    context: dg.AssetExecutionContext, config: RetentionConfig, timescale: TimescaleResource
) -> dg.MaterializeResult:
    """Drops chunks past each table's window; raw chunks only once their archive is verified."""
    now = datetime.now(UTC)
    dropped, refused, would_drop = [], {}, []
    with timescale.connection() as conn:
        for table in RAW_TABLES:
            days = config.windows_days.get(f"raw.{table}")
            if days is None:
                continue
            older_than, newer_than = chunk_bounds(now - timedelta(days=days), config)
            for chunk in archive.old_chunks(conn, table, older_than, newer_than):
                check = archive.unarchived_days if config.dry_run else archive.drop_archived_chunk
                missing = check(conn, chunk)
                if missing:
                    refused[chunk.name] = missing
                else:
                    (would_drop if config.dry_run else dropped).append(chunk.name)
        for table in HOURLY_SOURCES:
            days = config.windows_days.get(f"rollup.{table}")
            if days is None:
                continue
            cutoff = now - timedelta(days=days)
            function = "show_chunks" if config.dry_run else "drop_chunks"
            chunks = conn.execute(
                sql.SQL("SELECT {}(%s::regclass, older_than => %s)").format(sql.Identifier(function)),
                (f"rollup.{table}", cutoff),
            ).fetchall()
            (would_drop if config.dry_run else dropped).extend(name for (name,) in chunks)
        alert_days = config.windows_days.get("ops.alerts")
        if alert_days is not None and not config.dry_run:
            conn.execute("DELETE FROM ops.alerts WHERE resolved_at < %s", (now - timedelta(days=alert_days),))
        conn.commit()
    for name, missing in refused.items():
        context.log.warning(f"refused to drop {name}: not archived as it stands: {[str(d) for d in missing]}")
    return dg.MaterializeResult(
        metadata={
            "dry_run": config.dry_run,
            "dropped": dg.MetadataValue.json(dropped),
            "would_drop": dg.MetadataValue.json(would_drop),
            "refused_unarchived": dg.MetadataValue.json({k: [str(d) for d in v] for k, v in refused.items()}),
        }
    )

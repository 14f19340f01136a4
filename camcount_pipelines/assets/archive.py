"""The archive asset: raw chunks older than N days -> verified zstd Parquet (see
camcount_pipelines.archive). Dropping them is retention's job, which refuses anything this
asset has not verified."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from camcount_pipelines import archive
from camcount_pipelines.assets.raw import RAW_TABLES, raw_key
from camcount_pipelines.resources import TimescaleResource


def chunk_bounds(cutoff: datetime, config: dg.Config) -> tuple[datetime, datetime | None]:
    """The cutoff, narrowed by a config's optional ISO `older_than` / `newer_than` bounds."""
    older = datetime.fromisoformat(config.older_than) if config.older_than else cutoff
    newer = datetime.fromisoformat(config.newer_than) if config.newer_than else None
    return min(cutoff, older), newer


class ArchiveConfig(dg.Config):
    older_than_days: int = 2  # archive chunks that ended this long ago
    # Ad-hoc runs (backfills, tests): only chunks inside [newer_than, older_than), ISO instants.
    newer_than: str | None = None
    older_than: str | None = None


@dg.asset(
    key=["ops", "raw_archive"],
    deps=[raw_key(table) for table in RAW_TABLES],
    group_name="ops",
    kinds={"parquet", "polars"},
)
def raw_archive(
    context: dg.AssetExecutionContext, config: ArchiveConfig, timescale: TimescaleResource
) -> dg.MaterializeResult:
    """Old raw chunks as zstd Parquet per table and UTC day, verified and in ops.archive_manifest."""
    older_than, newer_than = chunk_bounds(datetime.now(UTC) - timedelta(days=config.older_than_days), config)
    archived: list[archive.ArchivedDay] = []
    with timescale.connection() as conn:
        for table in RAW_TABLES:
            for chunk in archive.old_chunks(conn, table, older_than, newer_than):
                todo = archive.unarchived_days(conn, chunk)
                archived += [archive.archive_day(conn, table, day) for day in todo]
    rows = sum(a.rows for a in archived)
    file_bytes = sum(a.file_bytes for a in archived)
    db_bytes = sum(a.db_bytes for a in archived)
    ratio = round(db_bytes / file_bytes, 2) if file_bytes else None
    context.log.info(f"archived {len(archived)} day files, {rows} rows, compression ratio {ratio}x")
    return dg.MaterializeResult(
        metadata={
            "files": len(archived),
            "rows": rows,
            "parquet_bytes": file_bytes,
            "db_row_bytes": db_bytes,
            "compression_ratio": ratio,
            "root": dg.MetadataValue.path(str(archive.archive_root())),
        }
    )

"""The archive and retention assets. Archival moves old raw chunks to verified zstd Parquet
(camcount_pipelines.archive.parquet); retention then drops what is past its window, refusing any
raw chunk the archive does not hold as it stands (camcount_pipelines.archive.retention)."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.archive import parquet
from camcount_pipelines.archive.retention import DEFAULT_WINDOWS_DAYS, enforce_retention
from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.resources import TimescaleResource


class ChunkWindowConfig(dg.Config):
    # Ad-hoc runs (backfills, tests): only chunks inside [newer_than, older_than), ISO instants.
    newer_than: str | None = None
    older_than: str | None = None

    def chunk_window(self, cutoff: datetime) -> tuple[datetime, datetime | None]:
        """The cutoff, narrowed by the optional ISO `older_than` / `newer_than` bounds."""
        older = datetime.fromisoformat(self.older_than) if self.older_than else cutoff
        newer = datetime.fromisoformat(self.newer_than) if self.newer_than else None
        return min(cutoff, older), newer


class ArchiveConfig(ChunkWindowConfig):
    older_than_days: int = 2  # archive chunks that ended this long ago


class RetentionConfig(ChunkWindowConfig):
    dry_run: bool = False
    windows_days: dict[str, int] = DEFAULT_WINDOWS_DAYS


@dg.asset(
    key=["ops", "raw_archive"],
    deps=[raw_key(table) for table in RAW_TABLE_NAMES],
    group_name="ops",
    kinds={"parquet", "polars"},
)
def raw_archive(
    context: dg.AssetExecutionContext, config: ArchiveConfig, timescale: TimescaleResource
) -> dg.MaterializeResult:
    """Old raw chunks as zstd Parquet per table and UTC day, verified and in ops.archive_manifest."""
    older_than, newer_than = config.chunk_window(datetime.now(UTC) - timedelta(days=config.older_than_days))
    with timescale.connection() as conn:
        archived = parquet.archive_old_chunks(conn, older_than, newer_than)
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
            "root": dg.MetadataValue.path(str(parquet.archive_root())),
        }
    )


@dg.asset(key=["ops", "retention"], deps=[["ops", "raw_archive"]], group_name="ops", kinds={"timescaledb"})
def retention(
    context: dg.AssetExecutionContext, config: RetentionConfig, timescale: TimescaleResource
) -> dg.MaterializeResult:
    """Drops chunks past each table's window; raw chunks only once their archive is verified."""
    with timescale.connection() as conn:
        result = enforce_retention(conn, config.windows_days, datetime.now(UTC), config.dry_run, config.chunk_window)
    for name, missing in result.refused.items():
        context.log.warning(f"refused to drop {name}: not archived as it stands: {[str(d) for d in missing]}")
    return dg.MaterializeResult(
        metadata={
            "dry_run": config.dry_run,
            "dropped": dg.MetadataValue.json(result.dropped),
            "would_drop": dg.MetadataValue.json(result.would_drop),
            "refused_unarchived": dg.MetadataValue.json({k: [str(d) for d in v] for k, v in result.refused.items()}),
        }
    )

"""The archive job: archival, then retention, in one in-process run."""

import dagster as dg

archive_job = dg.define_asset_job(
    "archive_job",
    selection=dg.AssetSelection.assets(["ops", "raw_archive"], ["ops", "retention"]),
    executor_def=dg.in_process_executor,
    description="Archive old raw chunks to verified Parquet, then enforce retention.",
)

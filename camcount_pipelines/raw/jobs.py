"""The raw checks as a job, so a schedule can run them (asset jobs run in-process: a subprocess
per step costs ~2 s and ~300 MB on a 2-core box, more than the SQL they run)."""

import dagster as dg

from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.raw.assets import raw_key

raw_checks_job = dg.define_asset_job(
    "raw_checks_job",
    selection=dg.AssetSelection.checks_for_assets(*(raw_key(table) for table in RAW_TABLE_NAMES)),
    executor_def=dg.in_process_executor,
    description="Checks on the raw tables: future timestamps, health gaps and freshness, active alerts.",
)

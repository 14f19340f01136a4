"""Rollup jobs. Small and frequent, so they run in-process: a subprocess per step costs ~2 s and
~300 MB on a 2-core box, more than the SQL they run."""

from __future__ import annotations

import dagster as dg

from camcount_pipelines.retries import RUN_RETRY_TAGS
from camcount_pipelines.rollups.assets import rollup_key
from camcount_pipelines.rollups.compute import DAILY_SOURCES, HOURLY_SOURCES

hourly_rollups_job = dg.define_asset_job(
    "hourly_rollups_job",
    selection=dg.AssetSelection.assets(*(rollup_key(t) for t in HOURLY_SOURCES)),
    executor_def=dg.in_process_executor,
    tags=RUN_RETRY_TAGS,
    description="Hourly rollups for the requested UTC hours (the ingest sensor's target).",
)
daily_rollups_job = dg.define_asset_job(
    "daily_rollups_job",
    selection=dg.AssetSelection.assets(*(rollup_key(t) for t in DAILY_SOURCES)),
    executor_def=dg.in_process_executor,
    tags=RUN_RETRY_TAGS,
)
weekly_rollups_job = dg.define_asset_job(
    "weekly_rollups_job",
    selection=dg.AssetSelection.assets(rollup_key("crossings_weekly")),
    executor_def=dg.in_process_executor,
    tags=RUN_RETRY_TAGS,
)
monthly_rollups_job = dg.define_asset_job(
    "monthly_rollups_job",
    selection=dg.AssetSelection.assets(rollup_key("crossings_monthly")),
    executor_def=dg.in_process_executor,
    tags=RUN_RETRY_TAGS,
)

rollup_jobs = [hourly_rollups_job, daily_rollups_job, weekly_rollups_job, monthly_rollups_job]

"""Report jobs, in-process: a report is a few queries and two charts."""

import dagster as dg

from camcount_pipelines.retries import RUN_RETRY_TAGS

daily_report_job = dg.define_asset_job(
    "daily_report_job", selection=dg.AssetSelection.assets(["reports", "daily_kpis"]),
    executor_def=dg.in_process_executor, tags=RUN_RETRY_TAGS,
)
weekly_report_job = dg.define_asset_job(
    "weekly_report_job", selection=dg.AssetSelection.assets(["reports", "weekly_kpis"]),
    executor_def=dg.in_process_executor, tags=RUN_RETRY_TAGS,
)

report_jobs = [daily_report_job, weekly_report_job]

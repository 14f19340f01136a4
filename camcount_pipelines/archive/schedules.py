"""Archival and retention run nightly."""

import dagster as dg

from camcount_pipelines.archive.jobs import archive_job

archive_schedule = dg.ScheduleDefinition(
    job=archive_job, cron_schedule="30 3 * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)

"""The raw checks every 10 minutes."""

import dagster as dg

from camcount_pipelines.raw.jobs import raw_checks_job

raw_checks_schedule = dg.ScheduleDefinition(
    job=raw_checks_job, cron_schedule="*/10 * * * *", default_status=dg.DefaultScheduleStatus.RUNNING
)

"""Schedules, all RUNNING by default. Calendar rollups re-run the local days, weeks and months
still in progress (plus the previous one, for late data); reports run once every timezone's
day (or week) is over; archival and retention run nightly."""

from typing import Any

import dagster as dg

from camcount_pipelines import jobs
from camcount_pipelines.partitions import DAILY, MONTHLY, WEEKLY

RUNNING = dg.DefaultScheduleStatus.RUNNING


def _recent_partitions_schedule(
    job: Any, partitions: dg.TimeWindowPartitionsDefinition, cron: str, window: slice
) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule=cron, default_status=RUNNING, name=f"{job.name}_schedule")
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        keys = partitions.get_partition_keys(current_time=context.scheduled_execution_time)[window]
        stamp = context.scheduled_execution_time.isoformat()
        return [dg.RunRequest(run_key=f"{key}@{stamp}", partition_key=key) for key in keys]

    return _schedule


schedules = [
    # Keys end with end_offset=2's "tomorrow": local today spans three UTC dates around the world.
    _recent_partitions_schedule(jobs.daily_rollups_job, DAILY, "10 * * * *", slice(-4, None)),
    _recent_partitions_schedule(jobs.weekly_rollups_job, WEEKLY, "20 * * * *", slice(-3, None)),
    _recent_partitions_schedule(jobs.monthly_rollups_job, MONTHLY, "25 * * * *", slice(-3, None)),
    # At 13:00 UTC every timezone's previous day is over (UTC-12 is the last); Mondays for weeks.
    _recent_partitions_schedule(jobs.daily_report_job, DAILY, "40 13 * * *", slice(-3, -2)),
    _recent_partitions_schedule(jobs.weekly_report_job, WEEKLY, "50 13 * * 1", slice(-3, -2)),
    dg.ScheduleDefinition(job=jobs.archive_job, cron_schedule="30 3 * * *", default_status=RUNNING),
    dg.ScheduleDefinition(job=jobs.raw_checks_job, cron_schedule="*/10 * * * *", default_status=RUNNING),
]

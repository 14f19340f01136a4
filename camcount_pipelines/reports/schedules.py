"""Reports run once every timezone's day (or week) is over: at 13:00 UTC the previous day is over
everywhere (UTC-12 is the last); weekly reports on Mondays."""

from camcount_pipelines.partitions import DAILY, WEEKLY, recent_partitions_schedule
from camcount_pipelines.reports.jobs import daily_report_job, weekly_report_job

report_schedules = [
    recent_partitions_schedule(daily_report_job, DAILY, "40 13 * * *", slice(-3, -2)),
    recent_partitions_schedule(weekly_report_job, WEEKLY, "50 13 * * 1", slice(-3, -2)),
]

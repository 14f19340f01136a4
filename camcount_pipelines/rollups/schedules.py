"""Calendar rollups re-run the local days, weeks and months still in progress, plus the previous
one for late data. Keys end with end_offset=2's "tomorrow": local today spans three UTC dates
around the world."""

from camcount_pipelines.partitions import DAILY, MONTHLY, WEEKLY, recent_partitions_schedule
from camcount_pipelines.rollups.jobs import daily_rollups_job, monthly_rollups_job, weekly_rollups_job

rollup_schedules = [
    recent_partitions_schedule(daily_rollups_job, DAILY, "10 * * * *", slice(-4, None)),
    recent_partitions_schedule(weekly_rollups_job, WEEKLY, "20 * * * *", slice(-3, None)),
    recent_partitions_schedule(monthly_rollups_job, MONTHLY, "25 * * * *", slice(-3, None)),
]

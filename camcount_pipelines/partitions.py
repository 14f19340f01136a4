"""Partitions shared by rollups, sensors, reports and jobs, and the schedule that re-runs recent ones.

Hourly partitions are UTC hours: raw data is stored in UTC and an hour is an hour everywhere.
Daily, weekly and monthly partitions are *local* calendar dates: partition "2024-04-01" holds
each site's own 1 April. A local day spans UTC hours from D-1 10:00 (UTC+14) to D+1 12:00
(UTC-12), so a day depends on the UTC hours of D-1, D and D+1: a superset for any one site, but
the only mapping that is right for every site at once, and it makes a day wait until the last
timezone's day is over before it counts as complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dagster as dg

from camcount.settings import partitions_start

# Partitions cannot start before the earliest data that should be rolled up (the worker refuses earlier).
START = partitions_start().date().isoformat()

# end_offset: the running hour (and local day, week, month) is a partition, so live data rolls up now.
HOURLY = dg.HourlyPartitionsDefinition(start_date=f"{START}-00:00", end_offset=1)
# Local dates run up to 14 h ahead of UTC (Pacific/Kiritimati): end_offset=2 keeps "today" everywhere.
DAILY = dg.DailyPartitionsDefinition(start_date=START, end_offset=2)
WEEKLY = dg.WeeklyPartitionsDefinition(start_date=START, day_offset=1, end_offset=2)  # ISO weeks
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=START, end_offset=2)

# Hours after the newest hourly partition do not exist yet: the running day depends on fewer.
LOCAL_DAY_FROM_UTC_HOURS = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
)


# The running week and month hold days that do not exist yet (DAILY ends 2 days ahead). Without
# this, Dagster's automation submits the week's or month's rollup in a backfill that fails whole
# ("depends on non-existent partitions"), taking the days' rollups of the same request with it.
PERIOD_FROM_LOCAL_DAYS = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def hourly_window() -> tuple[datetime, datetime]:
    """The instants [start, end) the hourly partitions cover now: a row timed outside (before
    CAMCOUNT_PARTITIONS_START, or past the running hour) cannot be rolled up, yet."""
    return HOURLY.start, HOURLY.get_last_partition_window().end


def recent_partitions_schedule(
    job: Any, partitions: dg.TimeWindowPartitionsDefinition, cron: str, window: slice
) -> dg.ScheduleDefinition:
    """A RUNNING schedule that requests the `window` slice of the partitions that exist at each tick."""

    @dg.schedule(job=job, cron_schedule=cron, default_status=dg.DefaultScheduleStatus.RUNNING,
                 name=f"{job.name}_schedule")
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        keys = partitions.get_partition_keys(current_time=context.scheduled_execution_time)[window]
        stamp = context.scheduled_execution_time.isoformat()
        return [dg.RunRequest(run_key=f"{key}@{stamp}", partition_key=key) for key in keys]

    return _schedule

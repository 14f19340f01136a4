"""Rollup assets: hourly from raw (UTC hours), daily from hourly (each site's local day), weekly
and monthly from daily. Thin: the SQL lives in camcount_pipelines.rollups.compute."""

import os
from datetime import date, timedelta

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from camcount.errors import ConfigError
from camcount_pipelines.automation import calendar_automation
from camcount_pipelines.partitions import (
    DAILY,
    HOURLY,
    LOCAL_DAY_FROM_UTC_HOURS,
    MONTHLY,
    PERIOD_FROM_LOCAL_DAYS,
    WEEKLY,
)
from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.retries import STEP_RETRY
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.checks import rollup_matches_raw

# The ingest sensor rolls up every hour with new rows within a minute, so an hourly rollup not
# updated for 2 hours means the sensor or the cameras stopped: the daemon marks it FAIL in the UI.
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2))


def calendar_cron() -> str:
    """How often days, weeks and months catch up with their inputs: every 5 minutes, or
    `$CAMCOUNT_CALENDAR_ROLLUP_CRON` (fewer runs on a big fleet; every minute in the soak test)."""
    cron = os.environ.get("CAMCOUNT_CALENDAR_ROLLUP_CRON") or "*/5 * * * *"
    if not is_valid_cron_string(cron):
        raise ConfigError(f"CAMCOUNT_CALENDAR_ROLLUP_CRON={cron!r} is not a cron schedule, e.g. '*/5 * * * *'")
    return cron


# Days, weeks and months follow their inputs (calendar_rollups_sensor), however old.
CALENDAR_AUTOMATION = calendar_automation(calendar_cron())


def rollup_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["rollup", table])


def _hourly_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=rollup_key(table),
        deps=[raw_key(compute.HOURLY_SOURCES[table])],
        partitions_def=HOURLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="rollups",
        kinds={"timescaledb"},
        description=f"rollup.{table}: raw.{compute.HOURLY_SOURCES[table]} per UTC hour.",
        check_specs=[dg.AssetCheckSpec("matches_raw", asset=rollup_key(table))],
        freshness_policy=HOURLY_FRESHNESS,
        retry_policy=STEP_RETRY,
    )
    def _asset(context: dg.AssetExecutionContext, timescale: TimescaleResource) -> dg.MaterializeResult:
        window = context.partition_time_window
        with timescale.connection() as conn:
            result = compute.rollup_hours(conn, table, window.start, window.end)
            check = rollup_matches_raw(conn, table, window.start, window.end, result.ingest_seq)
        return dg.MaterializeResult(
            metadata={"rows": result.rows, "ingest_seq": result.ingest_seq}, check_results=[check]
        )

    return _asset


def _daily_asset(table: str) -> dg.AssetsDefinition:
    source = compute.DAILY_SOURCES[table]

    @dg.asset(
        key=rollup_key(table),
        deps=[dg.AssetDep(rollup_key(source), partition_mapping=LOCAL_DAY_FROM_UTC_HOURS)],
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="rollups",
        kinds={"timescaledb"},
        description=f"rollup.{table}: rollup.{source} summed over each site's local day.",
        automation_condition=CALENDAR_AUTOMATION,
        retry_policy=STEP_RETRY,
    )
    def _asset(context: dg.AssetExecutionContext, timescale: TimescaleResource) -> dg.MaterializeResult:
        first, last = _dates(context)
        with timescale.connection() as conn:
            result = compute.rollup_days(conn, table, first, last)
        return dg.MaterializeResult(metadata={"rows": result.rows})

    return _asset


def _calendar_asset(table: str) -> dg.AssetsDefinition:
    unit = compute.CALENDAR_UNITS[table]

    @dg.asset(
        key=rollup_key(table),
        deps=[dg.AssetDep(rollup_key("crossings_daily"), partition_mapping=PERIOD_FROM_LOCAL_DAYS)],
        partitions_def=WEEKLY if unit == "week" else MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="rollups",
        kinds={"timescaledb"},
        description=f"rollup.{table}: local days summed per {unit} (weeks start on Monday).",
        automation_condition=CALENDAR_AUTOMATION,
        retry_policy=STEP_RETRY,
    )
    def _asset(context: dg.AssetExecutionContext, timescale: TimescaleResource) -> dg.MaterializeResult:
        first, last = _dates(context)
        with timescale.connection() as conn:
            result = compute.rollup_calendar(conn, table, first, last)
        return dg.MaterializeResult(metadata={"rows": result.rows})

    return _asset


def _dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The partition window as local calendar dates: partition keys are dates, not instants."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


hourly_rollups = [_hourly_asset(table) for table in compute.HOURLY_SOURCES]
daily_rollups = [_daily_asset(table) for table in compute.DAILY_SOURCES]
calendar_rollups = [_calendar_asset(table) for table in compute.CALENDAR_UNITS]

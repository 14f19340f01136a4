"""The camcount code location: `dagster dev -w workspace.yaml` loads this module. A thin list:
each definition comes from the domain folder that owns it."""

import dagster as dg

from camcount_pipelines.alerts.checks import active_alerts
from camcount_pipelines.alerts.rules import AlertRules
from camcount_pipelines.alerts.sensors import alerts_sensor, run_failure_alerts, run_success_resolves
from camcount_pipelines.archive.assets import raw_archive, retention
from camcount_pipelines.archive.jobs import archive_job
from camcount_pipelines.archive.schedules import archive_schedule
from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource
from camcount_pipelines.marts.sensors import marts_automation_sensor
from camcount_pipelines.raw.assets import raw_assets
from camcount_pipelines.raw.checks import raw_checks
from camcount_pipelines.raw.jobs import raw_checks_job
from camcount_pipelines.raw.schedules import raw_checks_schedule
from camcount_pipelines.raw.sensors import platform_events_sensor, raw_observation_sensor
from camcount_pipelines.reports.assets import daily_report, weekly_report
from camcount_pipelines.reports.jobs import report_jobs
from camcount_pipelines.reports.schedules import report_schedules
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups.assets import calendar_rollups, daily_rollups, hourly_rollups
from camcount_pipelines.rollups.jobs import rollup_jobs
from camcount_pipelines.rollups.schedules import rollup_schedules
from camcount_pipelines.rollups.sensors import calendar_rollups_sensor, ingest_sensor, repair_sensor

defs = dg.Definitions(
    assets=[*raw_assets, *hourly_rollups, *daily_rollups, *calendar_rollups, camcount_dbt_assets,
            daily_report, weekly_report, raw_archive, retention],
    asset_checks=[*raw_checks, active_alerts],
    jobs=[*rollup_jobs, *report_jobs, archive_job, raw_checks_job],
    schedules=[*rollup_schedules, *report_schedules, archive_schedule, raw_checks_schedule],
    sensors=[ingest_sensor, calendar_rollups_sensor, repair_sensor, raw_observation_sensor, platform_events_sensor,
             alerts_sensor, run_failure_alerts, run_success_resolves, marts_automation_sensor],
    resources={"timescale": TimescaleResource(), "alert_rules": AlertRules.from_env(), "dbt": dbt_resource()},
)

"""The camcount code location: `dagster dev -w workspace.yaml` loads this module."""

import dagster as dg

from camcount_pipelines import checks, jobs
from camcount_pipelines.alerting import AlertRules
from camcount_pipelines.assets.archive import raw_archive
from camcount_pipelines.assets.dbt import camcount_dbt_assets, dbt_resource
from camcount_pipelines.assets.raw import raw_assets
from camcount_pipelines.assets.reports import daily_report, weekly_report
from camcount_pipelines.assets.retention import retention
from camcount_pipelines.assets.rollups import calendar_rollups, daily_rollups, hourly_rollups
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.schedules import schedules
from camcount_pipelines.sensors.alerts import alerts_sensor
from camcount_pipelines.sensors.ingest import ingest_sensor
from camcount_pipelines.sensors.marts import marts_automation_sensor
from camcount_pipelines.sensors.observe import platform_events_sensor, raw_observation_sensor

defs = dg.Definitions(
    assets=[*raw_assets, *hourly_rollups, *daily_rollups, *calendar_rollups, camcount_dbt_assets, raw_archive,
            retention, daily_report, weekly_report],
    asset_checks=checks.raw_checks,
    jobs=jobs.all_jobs,
    schedules=schedules,
    sensors=[
        ingest_sensor, raw_observation_sensor, platform_events_sensor, alerts_sensor,
        marts_automation_sensor,
    ],
    resources={"timescale": TimescaleResource(), "alert_rules": AlertRules.from_env(), "dbt": dbt_resource()},
)

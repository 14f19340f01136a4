"""The camcount code location: `dagster dev -w workspace.yaml` loads this module."""

from __future__ import annotations

import dagster as dg

from camcount_pipelines import jobs
from camcount_pipelines.assets.raw import raw_assets
from camcount_pipelines.assets.rollups import calendar_rollups, daily_rollups, hourly_rollups
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.sensors.ingest import ingest_sensor

defs = dg.Definitions(
    assets=[*raw_assets, *hourly_rollups, *daily_rollups, *calendar_rollups],
    jobs=[jobs.hourly_rollups_job, jobs.daily_rollups_job, jobs.weekly_rollups_job, jobs.monthly_rollups_job],
    sensors=[ingest_sensor],
    resources={"timescale": TimescaleResource()},
)

"""The automation sensor that keeps the dbt marts fresh: every 15 s it evaluates the marts'
automation conditions (camcount_pipelines.automation.MART_AUTOMATION) and requests one dbt run for
every model whose upstream rollup partitions or models changed. The freshness budget (an event in
fct_crossings_hourly within 2 minutes, bench/freshness.py) is spent on this interval, the ingest
sensor's (15 s), the two runs' start-up and dbt itself; at 30 s the worst event took 109 s."""

import dagster as dg

from camcount_pipelines.marts.dbt import camcount_dbt_assets
from camcount_pipelines.retries import RUN_RETRY_TAGS

marts_automation_sensor = dg.AutomationConditionSensorDefinition(
    "marts_automation_sensor",
    target=dg.AssetSelection.assets(camcount_dbt_assets),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    run_tags=RUN_RETRY_TAGS,
    description="Runs dbt for the marts whose upstream rollups or models changed.",
)

{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Headline numbers per camera and site-local day: the camera rows of the KPI reports and the input
-- of fct_camera_kpi_trends, from the local-day totals that Dagster's daily rollups own. Sums and
-- counts sit next to the means so that the exact mean over any span of days (a report's week) is
-- sum / count, never a mean of daily means.
with days as (
    -- Camera-days to (re)build: recent days, and days whose inputs changed recently
    select camera_id, site_id, local_date, timezone, source_updated_at
    from {{ ref('int_camera_days') }}
    where {{ incremental_window('local_date', 'source_updated_at') }}
),

crossings as (
    -- Daily totals per direction, over every line and class of the camera
    select
        daily.camera_id,
        daily.local_date,
        sum(daily.crossings) filter (where daily.direction = 'in') as total_in,
        sum(daily.crossings) filter (where daily.direction = 'out') as total_out
    from {{ ref('fct_crossings_daily') }} as daily
    inner join days on days.camera_id = daily.camera_id and days.local_date = daily.local_date
    group by daily.camera_id, daily.local_date
),

occupancy as (
    -- Highest sample and the sample-weighted sum of any zone and class
    select
        occupancy.camera_id,
        occupancy.local_date,
        max(occupancy.max_occupancy) as max_occupancy,
        sum(occupancy.samples) as occupancy_samples,
        sum(occupancy.avg_occupancy * occupancy.samples) as occupancy_sum
    from {{ ref('stg_rollup__occupancy_daily') }} as occupancy
    inner join days on days.camera_id = occupancy.camera_id and days.local_date = occupancy.local_date
    group by occupancy.camera_id, occupancy.local_date
),

dwell as (
    -- Zone exits and their total dwell
    select
        dwell.camera_id,
        dwell.local_date,
        sum(dwell.exits) as zone_exits,
        sum(dwell.total_dwell_s) as total_dwell_s
    from {{ ref('stg_rollup__dwell_daily') }} as dwell
    inner join days on days.camera_id = dwell.camera_id and days.local_date = dwell.local_date
    group by dwell.camera_id, dwell.local_date
)

select
    days.local_date,
    days.site_id,
    days.camera_id,
    days.local_date = (now() at time zone days.timezone)::date as is_partial_day,
    coalesce(crossings.total_in, 0)::bigint as total_in,
    coalesce(crossings.total_out, 0)::bigint as total_out,
    coalesce(crossings.total_in + crossings.total_out, 0)::bigint as total_crossings,
    coalesce(crossings.total_in - crossings.total_out, 0)::bigint as net_flow,
    occupancy.max_occupancy,
    occupancy.occupancy_samples,
    -- rounded: float sums vary with row order, and a rebuild of unchanged inputs must give identical rows
    round(occupancy.occupancy_sum::numeric, 3) as occupancy_sum,
    round((occupancy.occupancy_sum / nullif(occupancy.occupancy_samples, 0))::numeric, 3) as mean_occupancy,
    dwell.zone_exits,
    round(dwell.total_dwell_s::numeric, 3) as total_dwell_s,
    round((dwell.total_dwell_s / nullif(dwell.zone_exits, 0))::numeric, 3) as mean_dwell_s,
    health.samples as health_samples,
    health.expected_samples as expected_health_samples,
    health.completeness_pct,
    days.source_updated_at
from days
left join crossings on crossings.camera_id = days.camera_id and crossings.local_date = days.local_date
left join occupancy on occupancy.camera_id = days.camera_id and occupancy.local_date = days.local_date
left join dwell on dwell.camera_id = days.camera_id and dwell.local_date = days.local_date
left join {{ ref('fct_camera_health_daily') }} as health
    on health.camera_id = days.camera_id and health.local_date = days.local_date

{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['site_id', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Headline numbers per site and local day. Crossings add up every camera, line and class of the
-- site (the local-day totals that Dagster's daily rollups own); the peak hour comes from the hourly
-- facts; occupancy is the busiest single zone; completeness weighs every camera's health samples.
with days as (
    -- Site-days to (re)build: recent days, and days whose inputs changed recently
    select site_id, local_date, timezone, source_updated_at
    from {{ ref('int_site_days') }}
    where {{ incremental_window('local_date', 'source_updated_at') }}
),

hours as (
    -- The gap-filled hourly crossings of those days
    select hours.*
    from {{ ref('int_site_hourly_crossings') }} as hours
    inner join days on days.site_id = hours.site_id and days.local_date = hours.local_date
),

hours_in_day as (
    -- Local hours of each day: 24, or 23/25 on DST days
    select site_id, local_date, count(*) as hours_in_day
    from hours
    group by site_id, local_date
),

totals as (
    -- Daily totals per direction, from the local-day totals (days without crossings count zero)
    select
        daily.site_id,
        daily.local_date,
        sum(daily.crossings) filter (where daily.direction = 'in') as total_in,
        sum(daily.crossings) filter (where daily.direction = 'out') as total_out
    from {{ ref('fct_crossings_daily') }} as daily
    inner join days on days.site_id = daily.site_id and days.local_date = daily.local_date
    group by daily.site_id, daily.local_date
),

peak as (
    -- The busiest local hour (in + out); the earliest one on ties
    select distinct on (site_id, local_date)
        site_id,
        local_date,
        local_hour as peak_hour,
        bucket_local as peak_hour_start_local,
        crossings_total as peak_hour_crossings
    from hours
    order by site_id, local_date, crossings_total desc, bucket_utc
),

occupancy as (
    -- Highest sample of any zone and class
    select occupancy.site_id, occupancy.local_date, max(occupancy.max_occupancy) as max_occupancy
    from {{ ref('stg_rollup__occupancy_daily') }} as occupancy
    inner join days on days.site_id = occupancy.site_id and days.local_date = occupancy.local_date
    group by occupancy.site_id, occupancy.local_date
),

dwell as (
    -- Mean dwell over every zone exit of the day (rounded: float sums vary with row order, and a
    -- rebuild of unchanged inputs must give identical rows)
    select
        dwell.site_id,
        dwell.local_date,
        sum(dwell.exits) as zone_exits,
        round((sum(dwell.total_dwell_s) / nullif(sum(dwell.exits), 0))::numeric, 3) as mean_dwell_s
    from {{ ref('stg_rollup__dwell_daily') }} as dwell
    inner join days on days.site_id = dwell.site_id and days.local_date = dwell.local_date
    group by dwell.site_id, dwell.local_date
),

health as (
    -- Health samples present versus expected, over the site's cameras
    select
        health.site_id,
        health.local_date,
        sum(health.samples) as health_samples,
        sum(health.expected_samples) as expected_health_samples
    from {{ ref('fct_camera_health_daily') }} as health
    inner join days on days.site_id = health.site_id and days.local_date = health.local_date
    group by health.site_id, health.local_date
)

select
    days.local_date,
    days.site_id,
    days.local_date = (now() at time zone days.timezone)::date as is_partial_day,
    coalesce(totals.total_in, 0) as total_in,
    coalesce(totals.total_out, 0) as total_out,
    coalesce(totals.total_in, 0) + coalesce(totals.total_out, 0) as total_crossings,
    coalesce(totals.total_in, 0) - coalesce(totals.total_out, 0) as net_flow,
    hours_in_day.hours_in_day,
    peak.peak_hour,
    peak.peak_hour_start_local,
    peak.peak_hour_crossings,
    occupancy.max_occupancy,
    dwell.zone_exits,
    dwell.mean_dwell_s,
    health.health_samples,
    health.expected_health_samples,
    {{ completeness_pct('health.health_samples', 'health.expected_health_samples') }} as completeness_pct,
    days.source_updated_at
from days
inner join hours_in_day on hours_in_day.site_id = days.site_id and hours_in_day.local_date = days.local_date
inner join peak on peak.site_id = days.site_id and peak.local_date = days.local_date
left join totals on totals.site_id = days.site_id and totals.local_date = days.local_date
left join occupancy on occupancy.site_id = days.site_id and occupancy.local_date = days.local_date
left join dwell on dwell.site_id = days.site_id and dwell.local_date = days.local_date
left join health on health.site_id = days.site_id and health.local_date = days.local_date

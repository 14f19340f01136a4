{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'line_id', 'direction', 'class_name', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Crossings per site-local day × camera × line × direction × class, as rollup.crossings_daily
-- holds them: Dagster owns local-day totals, this mart only presents them.
with daily as (
    -- Rollup rows to (re)build: recent days, and days Dagster recomputed recently
    select *
    from {{ ref('stg_rollup__crossings_daily') }}
    where {{ incremental_window('local_date', 'computed_at') }}
),

active_hours as (
    -- Hours of those days with a crossing of the key, counted from the hourly fact
    select hourly.camera_id, hourly.line_id, hourly.direction, hourly.class_name, hourly.local_date,
           count(*) as active_hours
    from {{ ref('fct_crossings_hourly') }} as hourly
    inner join daily using (camera_id, line_id, direction, class_name, local_date)
    group by hourly.camera_id, hourly.line_id, hourly.direction, hourly.class_name, hourly.local_date
)

select
    daily.local_date,
    daily.site_id,
    daily.camera_id,
    daily.line_id,
    daily.direction,
    daily.class_name,
    daily.crossings::bigint as crossings,
    coalesce(active_hours.active_hours, 0)::int as active_hours,
    daily.first_crossed_at,
    daily.last_crossed_at,
    daily.computed_at as source_updated_at
from daily
left join active_hours using (camera_id, line_id, direction, class_name, local_date)

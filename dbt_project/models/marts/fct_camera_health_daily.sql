{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Per camera and site-local day: how many of the expected health samples arrived, and stream quality.
-- Samples, expected samples (at the camera's own interval) and the day set, dark days included,
-- are rollup.stream_health_daily's; only the sample-weighted quality comes from the hourly rollup.
with daily as (
    -- Camera-days to (re)build: recent days, and days Dagster recomputed recently
    select *
    from {{ ref('stg_rollup__stream_health_daily') }}
    where {{ incremental_window('local_date', 'computed_at') }}
),

quality as (
    -- Quality weighted by samples, rounded so that rebuilding unchanged inputs gives identical rows
    -- whatever the float summation order; a UTC hour belongs to the local day in which it starts
    select
        daily.camera_id,
        daily.local_date,
        round((sum(hourly.mean_quality * hourly.samples) / nullif(sum(hourly.samples), 0))::numeric, 4)
            as mean_quality
    from daily
    inner join {{ ref('dim_cameras') }} as cameras on cameras.camera_id = daily.camera_id
    inner join {{ ref('stg_rollup__stream_health_hourly') }} as hourly
        on hourly.camera_id = daily.camera_id
        and hourly.bucket_utc >= {{ local_day_start('daily.local_date', 'cameras.timezone') }}
        and hourly.bucket_utc < {{ local_day_end('daily.local_date', 'cameras.timezone') }}
    group by daily.camera_id, daily.local_date
)

-- Sums stay numeric, as this mart has always published them (incremental builds refuse a type change)
select
    daily.local_date,
    daily.site_id,
    daily.camera_id,
    daily.samples::numeric as samples,
    daily.expected_samples,
    {{ completeness_pct('daily.samples', 'daily.expected_samples') }} as completeness_pct,
    quality.mean_quality,
    daily.max_e2e_ms_p95,
    -- the rollup stores 0 for a dark day, when nothing was measured
    case when daily.samples > 0 then daily.max_queue_depth end as max_queue_depth,
    daily.dropped_frames::numeric as dropped_frames,
    daily.reconnects::numeric as reconnects,
    daily.computed_at as source_updated_at
from daily
left join quality on quality.camera_id = daily.camera_id and quality.local_date = daily.local_date

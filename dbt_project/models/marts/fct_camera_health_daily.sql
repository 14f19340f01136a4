{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Per camera and site-local day: how many of the expected health samples arrived, and stream quality.
-- Every day from the camera's first sample to the last day its site reported appears, so a camera
-- that was dark all day while its neighbours ran shows 0 % rather than no row.
with cameras as (
    -- Registered cameras with their first and last health hour (index lookups, not scans)
    select
        cameras.camera_id,
        cameras.site_id,
        cameras.timezone,
        (select min(h.bucket_utc) from {{ ref('stg_rollup__stream_health_hourly') }} as h
         where h.camera_id = cameras.camera_id) as first_bucket_utc,
        (select max(h.bucket_utc) from {{ ref('stg_rollup__stream_health_hourly') }} as h
         where h.camera_id = cameras.camera_id) as last_bucket_utc
    from {{ ref('dim_cameras') }} as cameras
),

site_last_day as (
    -- The last local day on which any camera of the site reported
    select site_id, max({{ local_date('last_bucket_utc', 'timezone') }}) as last_day
    from cameras
    group by site_id
),

camera_days as (
    -- One row per camera and local day, with the day's UTC bounds
    select
        cameras.camera_id,
        cameras.site_id,
        day::date as local_date,
        {{ local_day_start('day::date', 'cameras.timezone') }} as day_start_utc,
        {{ local_day_end('day::date', 'cameras.timezone') }} as day_end_utc
    from cameras
    inner join site_last_day on site_last_day.site_id = cameras.site_id
    cross join lateral generate_series(
        {{ local_date('cameras.first_bucket_utc', 'cameras.timezone') }}, site_last_day.last_day, interval '1 day'
    ) as day
    where cameras.first_bucket_utc is not null
),

hourly as (
    -- Health hours of each camera-day with any hour in the incremental window; the day is rebuilt whole
    select
        camera_days.camera_id,
        camera_days.local_date,
        health.samples,
        health.mean_quality,
        health.max_e2e_ms_p95,
        health.max_queue_depth,
        health.dropped_frames,
        health.reconnects,
        health.computed_at
    from camera_days
    inner join {{ ref('stg_rollup__stream_health_hourly') }} as health
        on health.camera_id = camera_days.camera_id
        and health.bucket_utc >= camera_days.day_start_utc
        and health.bucket_utc < camera_days.day_end_utc
),

changed_days as (
    -- Camera-days to (re)build: recent days (dark ones included), and days whose health hours changed
    select camera_id, local_date from camera_days
    where {{ incremental_window('local_date') }}
    union
    select camera_id, local_date from hourly
    where {{ incremental_window('local_date', 'computed_at') }}
),

daily as (
    -- Samples and quality per camera-day (quality weighted by samples, rounded so that rebuilding
    -- unchanged inputs gives identical rows whatever the float summation order)
    select
        changed_days.camera_id,
        changed_days.local_date,
        coalesce(sum(hourly.samples), 0) as samples,
        round((sum(hourly.mean_quality * hourly.samples) / nullif(sum(hourly.samples), 0))::numeric, 4)
            as mean_quality,
        max(hourly.max_e2e_ms_p95) as max_e2e_ms_p95,
        max(hourly.max_queue_depth) as max_queue_depth,
        coalesce(sum(hourly.dropped_frames), 0) as dropped_frames,
        coalesce(sum(hourly.reconnects), 0) as reconnects,
        max(hourly.computed_at) as source_updated_at
    from changed_days
    left join hourly on hourly.camera_id = changed_days.camera_id and hourly.local_date = changed_days.local_date
    group by changed_days.camera_id, changed_days.local_date
),

expected as (
    -- Samples each day should hold: one per interval over the whole day, or over the part already past
    select
        *,
        floor(
            extract(epoch from least(day_end_utc, now()) - day_start_utc) / {{ var('health_sample_interval_s') }}
        )::bigint as expected_samples
    from camera_days
)

select
    expected.local_date,
    expected.site_id,
    expected.camera_id,
    daily.samples,
    expected.expected_samples,
    {{ completeness_pct('daily.samples', 'expected.expected_samples') }} as completeness_pct,
    daily.mean_quality,
    daily.max_e2e_ms_p95,
    daily.max_queue_depth,
    daily.dropped_frames,
    daily.reconnects,
    daily.source_updated_at
from daily
inner join expected on expected.camera_id = daily.camera_id and expected.local_date = daily.local_date

{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'line_id', 'direction', 'class_name', 'bucket_utc'],
        on_schema_change='fail',
    )
}}
-- Crossings per UTC hour × camera × line × direction × class, placed in the site's local calendar.
with rollup as (
    -- Rollup rows to (re)build: all of them, or the incremental window (recent hours, recent recomputes)
    select *
    from {{ ref('stg_rollup__crossings_hourly') }}
    where {{ incremental_window('bucket_utc', 'computed_at') }}
),

cameras as (
    select camera_id, site_id, timezone from {{ ref('dim_cameras') }}
)

-- Local date and hour follow the bucket's start in the site's timezone
select
    rollup.bucket_utc,
    {{ local_calendar_columns('rollup.bucket_utc', 'cameras.timezone') }},
    cameras.site_id,
    rollup.camera_id,
    rollup.line_id,
    rollup.direction,
    rollup.class_name,
    rollup.crossings,
    rollup.first_crossed_at,
    rollup.last_crossed_at,
    rollup.computed_at as source_updated_at
from rollup
inner join cameras on cameras.camera_id = rollup.camera_id

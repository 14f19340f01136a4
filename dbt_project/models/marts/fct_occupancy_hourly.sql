{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'zone_id', 'class_name', 'bucket_utc'],
        on_schema_change='fail',
    )
}}
-- Zone occupancy statistics per UTC hour × camera × zone × class, in the site's local calendar.
with rollup as (
    -- Rollup rows to (re)build: all of them, or the incremental window (recent hours, recent recomputes)
    select *
    from {{ ref('stg_rollup__occupancy_hourly') }}
    where {{ incremental_window('bucket_utc', 'computed_at') }}
),

cameras as (
    select camera_id, site_id, timezone from {{ ref('dim_cameras') }}
)

select
    rollup.bucket_utc,
    {{ local_calendar_columns('rollup.bucket_utc', 'cameras.timezone') }},
    cameras.site_id,
    rollup.camera_id,
    rollup.zone_id,
    rollup.class_name,
    rollup.samples,
    rollup.avg_occupancy,
    rollup.min_occupancy,
    rollup.max_occupancy,
    rollup.stddev_occupancy,
    rollup.p95_occupancy,
    rollup.first_occupancy,
    rollup.last_occupancy,
    rollup.computed_at as source_updated_at
from rollup
inner join cameras on cameras.camera_id = rollup.camera_id

-- Hourly dwell rollup: entries and exits, and the dwell of the exits (seconds).
with source as (
    select * from {{ source('rollup', 'dwell_hourly') }}
)

select
    bucket as bucket_utc,
    camera_id,
    zone_id,
    class_name,
    entries,
    exits,
    dwell_sum_s as total_dwell_s,
    dwell_mean_s as mean_dwell_s,
    dwell_max_s as max_dwell_s,
    computed_at
from source

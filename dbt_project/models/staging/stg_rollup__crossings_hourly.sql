-- Hourly crossings rollup, with the bucket named for its time zone.
with source as (
    select * from {{ source('rollup', 'crossings_hourly') }}
)

select
    bucket as bucket_utc,
    camera_id,
    line_id,
    direction,
    class_name,
    crossings,
    first_at as first_crossed_at,
    last_at as last_crossed_at,
    computed_at
from source

-- Hourly occupancy rollup, with the bucket named for its time zone.
with source as (
    select * from {{ source('rollup', 'occupancy_hourly') }}
)

select
    bucket as bucket_utc,
    camera_id,
    zone_id,
    class_name,
    samples,
    avg_occupancy,
    min_occupancy,
    max_occupancy,
    coalesce(stddev_occupancy, 0) as stddev_occupancy,
    p95_occupancy,
    first_occupancy,
    last_occupancy,
    computed_at
from source

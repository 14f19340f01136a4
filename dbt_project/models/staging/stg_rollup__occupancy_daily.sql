-- Daily occupancy rollup per site-local day, renamed; stddev is 0 for one sample.
with source as (
    select * from {{ source('rollup', 'occupancy_daily') }}
)

select
    day as local_date,
    site_id,
    camera_id,
    zone_id,
    class_name,
    samples,
    avg_occupancy,
    min_occupancy,
    max_occupancy,
    coalesce(stddev_occupancy, 0) as stddev_occupancy,
    p95_hourly_max,
    first_occupancy,
    last_occupancy,
    computed_at
from source

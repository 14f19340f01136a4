-- Daily dwell rollup per site-local day: entries and exits, and the dwell of the exits (seconds).
with source as (
    select * from {{ source('rollup', 'dwell_daily') }}
)

select
    day as local_date,
    site_id,
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

-- Daily crossings rollup: Dagster sums each site-local day from the hourly rollup (the one owner
-- of local-day totals), renamed for the marts.
with source as (
    select * from {{ source('rollup', 'crossings_daily') }}
)

select
    day as local_date,
    site_id,
    camera_id,
    line_id,
    direction,
    class_name,
    crossings,
    first_at as first_crossed_at,
    last_at as last_crossed_at,
    computed_at
from source

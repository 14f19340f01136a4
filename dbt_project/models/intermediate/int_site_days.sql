-- Every site-local day with any data (crossings, occupancy, dwell or health), and when its newest
-- input changed: the day set of fct_site_daily_kpis and its incremental trigger.
with inputs as (
    -- Site-days of each input, with the input rows' change times
    select site_id, local_date, source_updated_at from {{ ref('fct_crossings_hourly') }}
    union all
    select site_id, local_date, source_updated_at from {{ ref('fct_occupancy_hourly') }}
    union all
    select site_id, local_date, source_updated_at from {{ ref('fct_dwell_hourly') }}
    union all
    select site_id, local_date, source_updated_at from {{ ref('fct_camera_health_daily') }}
)

select
    inputs.site_id,
    inputs.local_date,
    sites.timezone,
    max(inputs.source_updated_at) as source_updated_at
from inputs
inner join {{ ref('dim_sites') }} as sites on sites.site_id = inputs.site_id
group by inputs.site_id, inputs.local_date, sites.timezone

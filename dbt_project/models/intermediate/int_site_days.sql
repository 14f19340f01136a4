-- Every site-local day with any data (crossings, occupancy, dwell or health), and when its newest
-- input changed: the day set of fct_site_daily_kpis and its incremental trigger.
select
    site_id,
    local_date,
    timezone,
    max(source_updated_at) as source_updated_at
from {{ ref('int_camera_days') }}
group by site_id, local_date, timezone

-- Every camera-local day with any data (crossings, occupancy, dwell or health), and when its
-- newest input changed: the day set of fct_camera_daily_kpis (and, summed up, of the sites).
with inputs as (
    -- Camera-days of each local-day input, with the input rows' change times
    select camera_id, local_date, source_updated_at from {{ ref('fct_crossings_daily') }}
    union all
    select camera_id, local_date, computed_at from {{ ref('stg_rollup__occupancy_daily') }}
    union all
    select camera_id, local_date, computed_at from {{ ref('stg_rollup__dwell_daily') }}
    union all
    select camera_id, local_date, source_updated_at from {{ ref('fct_camera_health_daily') }}
)

select
    inputs.camera_id,
    cameras.site_id,
    inputs.local_date,
    cameras.timezone,
    max(inputs.source_updated_at) as source_updated_at
from inputs
inner join {{ ref('dim_cameras') }} as cameras on cameras.camera_id = inputs.camera_id
group by inputs.camera_id, cameras.site_id, inputs.local_date, cameras.timezone

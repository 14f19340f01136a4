{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'line_id', 'direction', 'class_name', 'local_date'],
        on_schema_change='fail',
    )
}}
-- Crossings per site-local day × camera × line × direction × class.
with changed_days as (
    -- Camera-days with an hourly row in the incremental window; each is rebuilt whole
    select distinct camera_id, local_date
    from {{ ref('fct_crossings_hourly') }}
    where {{ incremental_window('local_date', 'source_updated_at') }}
),

hourly as (
    -- Every hourly row of those days
    select hourly.*
    from {{ ref('fct_crossings_hourly') }} as hourly
    inner join changed_days
        on changed_days.camera_id = hourly.camera_id and changed_days.local_date = hourly.local_date
)

select
    local_date,
    site_id,
    camera_id,
    line_id,
    direction,
    class_name,
    sum(crossings)::bigint as crossings,
    count(*)::int as active_hours,
    min(first_crossed_at) as first_crossed_at,
    max(last_crossed_at) as last_crossed_at,
    max(source_updated_at) as source_updated_at
from hourly
group by local_date, site_id, camera_id, line_id, direction, class_name

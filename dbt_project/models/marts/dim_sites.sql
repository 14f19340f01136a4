-- One row per site, with how many cameras, lines and zones it has.
with sites as (
    select * from {{ ref('stg_ops__sites') }}
),

equipment as (
    -- Cameras and their lines and zones, per site
    select
        site_id,
        count(*) as camera_count,
        sum(line_count) as line_count,
        sum(zone_count) as zone_count
    from {{ ref('dim_cameras') }}
    group by site_id
)

select
    sites.site_id,
    sites.site_name,
    sites.timezone,
    coalesce(equipment.camera_count, 0)::int as camera_count,
    coalesce(equipment.line_count, 0)::int as line_count,
    coalesce(equipment.zone_count, 0)::int as zone_count,
    sites.updated_at
from sites
left join equipment on equipment.site_id = sites.site_id

-- One row per zone of each camera, unpacked from the camera's geometry.
with cameras as (
    select camera_id, site_id, geometry from {{ ref('stg_ops__cameras') }}
),

zones as (
    -- Each element of geometry.zones, in configuration order
    select
        cameras.camera_id,
        cameras.site_id,
        element.zone,
        element.position
    from cameras
    cross join lateral jsonb_array_elements(coalesce(cameras.geometry -> 'zones', '[]'::jsonb))
        with ordinality as element (zone, position)
)

select
    camera_id,
    zone ->> 'id' as zone_id,
    site_id,
    position::int as zone_position,
    jsonb_array_length(zone -> 'polygon') as vertex_count,
    zone -> 'polygon' as polygon
from zones

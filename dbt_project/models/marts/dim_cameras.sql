-- One row per camera, with its site's name and timezone and a summary of its lines and zones.
with cameras as (
    select * from {{ ref('stg_ops__cameras') }}
),

sites as (
    select * from {{ ref('stg_ops__sites') }}
),

lines as (
    -- Line ids per camera, in configuration order
    select camera_id, array_agg(line_id order by line_position) as line_ids
    from {{ ref('dim_camera_lines') }}
    group by camera_id
),

zones as (
    -- Zone ids per camera, in configuration order
    select camera_id, array_agg(zone_id order by zone_position) as zone_ids
    from {{ ref('dim_camera_zones') }}
    group by camera_id
)

select
    cameras.camera_id,
    cameras.camera_name,
    cameras.source_kind,
    cameras.site_id,
    sites.site_name,
    sites.timezone,
    coalesce(cardinality(lines.line_ids), 0) as line_count,
    coalesce(lines.line_ids, '{}') as line_ids,
    coalesce(cardinality(zones.zone_ids), 0) as zone_count,
    coalesce(zones.zone_ids, '{}') as zone_ids,
    cameras.updated_at
from cameras
inner join sites on sites.site_id = cameras.site_id
left join lines on lines.camera_id = cameras.camera_id
left join zones on zones.camera_id = cameras.camera_id

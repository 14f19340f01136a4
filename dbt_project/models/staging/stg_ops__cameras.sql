-- Cameras, renamed for the marts; the geometry jsonb is unpacked by dim_camera_lines/zones.
with source as (
    select * from {{ source('ops', 'cameras') }}
)

select
    camera_id,
    site_id,
    name as camera_name,
    source_kind,
    geometry,
    updated_at
from source

-- One row per counting line of each camera, unpacked from the camera's geometry.
with cameras as (
    select camera_id, site_id, geometry from {{ ref('stg_ops__cameras') }}
),

lines as (
    -- Each element of geometry.lines, in configuration order
    select
        cameras.camera_id,
        cameras.site_id,
        element.line,
        element.position
    from cameras
    cross join lateral jsonb_array_elements(coalesce(cameras.geometry -> 'lines', '[]'::jsonb))
        with ordinality as element (line, position)
)

-- Side names: `in` means moving from the declared in side to the other one
select
    camera_id,
    line ->> 'id' as line_id,
    site_id,
    position::int as line_position,
    line -> 'sides' ->> 'left' as left_side_name,
    line -> 'sides' ->> 'right' as right_side_name,
    line ->> 'in_side' as in_side_name,
    case
        when line ->> 'in_side' = line -> 'sides' ->> 'left' then line -> 'sides' ->> 'right'
        else line -> 'sides' ->> 'left'
    end as out_side_name,
    jsonb_array_length(line -> 'points') as point_count,
    line -> 'points' as points
from lines

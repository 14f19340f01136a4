{{ config(meta={'dagster': {'ref': {'name': 'fct_crossings_hourly'}}}) }}
-- Reported in Dagster as a check of fct_crossings_hourly.
-- fct_crossings_hourly holds exactly the rollup's rows and counts. Rows the rollup recomputed
-- after the mart's last build are pending, not wrong: the next build merges them.
with built_until as (
    -- The newest rollup computation the mart has seen
    select max(source_updated_at) as at from {{ ref('fct_crossings_hourly') }}
),

compared as (
    -- Every key of either side, with both counts
    select
        camera_id, line_id, direction, class_name, bucket_utc,
        rollup.crossings as rollup_crossings,
        mart.crossings as mart_crossings,
        rollup.computed_at
    from {{ ref('stg_rollup__crossings_hourly') }} as rollup
    full outer join {{ ref('fct_crossings_hourly') }} as mart
        using (camera_id, line_id, direction, class_name, bucket_utc)
)

-- Mismatches that are not pending
select compared.*
from compared
cross join built_until
where compared.rollup_crossings is distinct from compared.mart_crossings
  and (compared.computed_at is null or compared.computed_at <= built_until.at)

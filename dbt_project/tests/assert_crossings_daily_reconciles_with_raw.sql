{{ config(meta={'dagster': {'ref': {'name': 'fct_crossings_daily'}}}) }}
-- Reported in Dagster as a check of fct_crossings_daily.
-- fct_crossings_daily equals a count of the raw events for every settled key and local day:
-- each of its hours was rolled up after its last raw event arrived (with a minute's margin for
-- inserts still in flight), Dagster rolled the day up after its last hour, and raw still holds
-- the whole day (retention drops old raw chunks). So marts = rollups = raw, end to end.
with raw_kept_since as (
    -- Raw holds every event from the start of its oldest remaining chunk
    select min(range_start) as at
    from timescaledb_information.chunks
    where hypertable_schema = 'raw' and hypertable_name = 'crossing_events'
),

raw_hourly as (
    -- Raw events per mart key and UTC hour, and when the last of them arrived
    select
        camera_id, line_id, direction, class_name,
        date_trunc('hour', crossed_at) as bucket_utc,
        count(*) as crossings,
        max(ingested_at) as last_ingested_at
    from {{ ref('stg_raw__crossing_events') }}
    group by camera_id, line_id, direction, class_name, date_trunc('hour', crossed_at)
),

raw_daily as (
    -- Per key and local day: the raw count, and whether every hour of it is settled
    select
        raw_hourly.camera_id, raw_hourly.line_id, raw_hourly.direction, raw_hourly.class_name,
        {{ local_date('raw_hourly.bucket_utc', 'cameras.timezone') }} as local_date,
        min({{ local_day_start(local_date('raw_hourly.bucket_utc', 'cameras.timezone'), 'cameras.timezone') }})
            as day_start_utc,
        sum(raw_hourly.crossings) as crossings,
        bool_and(coalesce(hourly.source_updated_at >= raw_hourly.last_ingested_at + interval '1 minute', false))
            as hours_settled,
        max(hourly.source_updated_at) as hours_rolled_up_at
    from raw_hourly
    inner join {{ ref('dim_cameras') }} as cameras on cameras.camera_id = raw_hourly.camera_id
    left join {{ ref('fct_crossings_hourly') }} as hourly
        on hourly.camera_id = raw_hourly.camera_id
        and hourly.line_id = raw_hourly.line_id
        and hourly.direction = raw_hourly.direction
        and hourly.class_name = raw_hourly.class_name
        and hourly.bucket_utc = raw_hourly.bucket_utc
    group by 1, 2, 3, 4, 5
),

days_rolled_up as (
    -- When Dagster last rolled up each camera-day (all keys of a day are rolled up together)
    select camera_id, local_date, max(source_updated_at) as rolled_up_at
    from {{ ref('fct_crossings_daily') }}
    group by camera_id, local_date
)

-- Settled days whose mart count differs from raw
select raw_daily.*, daily.crossings as mart_crossings
from raw_daily
cross join raw_kept_since
inner join days_rolled_up using (camera_id, local_date)
left join {{ ref('fct_crossings_daily') }} as daily
    using (camera_id, line_id, direction, class_name, local_date)
where raw_daily.hours_settled
  and days_rolled_up.rolled_up_at > raw_daily.hours_rolled_up_at
  and raw_daily.day_start_utc >= raw_kept_since.at
  and raw_daily.crossings is distinct from daily.crossings

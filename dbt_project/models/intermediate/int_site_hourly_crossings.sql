-- Crossings per site and local hour for every hour of every site-day, zeros included: the hourly
-- input of fct_site_daily_kpis (peak hour). DST days have 23 or 25 hours.
with hours as (
    -- Each UTC hour inside each site-local day
    select
        days.site_id,
        days.local_date,
        days.timezone,
        hour as bucket_utc
    from {{ ref('int_site_days') }} as days
    cross join lateral generate_series(
        {{ local_day_start('days.local_date', 'days.timezone') }},
        {{ local_day_end('days.local_date', 'days.timezone') }} - interval '1 hour',
        interval '1 hour'
    ) as hour
),

crossings as (
    -- Crossings per site and UTC hour, over all cameras, lines and classes
    select
        site_id,
        bucket_utc,
        coalesce(sum(crossings) filter (where direction = 'in'), 0) as crossings_in,
        coalesce(sum(crossings) filter (where direction = 'out'), 0) as crossings_out,
        sum(crossings) as crossings_total
    from {{ ref('fct_crossings_hourly') }}
    group by site_id, bucket_utc
)

select
    hours.site_id,
    hours.bucket_utc,
    {{ local_calendar_columns('hours.bucket_utc', 'hours.timezone') }},
    coalesce(crossings.crossings_in, 0)::bigint as crossings_in,
    coalesce(crossings.crossings_out, 0)::bigint as crossings_out,
    coalesce(crossings.crossings_total, 0)::bigint as crossings_total
from hours
left join crossings on crossings.site_id = hours.site_id and crossings.bucket_utc = hours.bucket_utc

{{ config(meta={'dagster': {'ref': {'name': 'fct_site_daily_kpis'}}}) }}
-- Reported in Dagster as a check of fct_site_daily_kpis.
-- Every site-day in fct_site_daily_kpis was computed from every hour of its local day: 24 hours,
-- or 23/25 on DST days, covering each local hour of day.
with day_lengths as (
    -- Hours each KPI day must have, from the site's timezone
    select
        kpis.site_id,
        kpis.local_date,
        kpis.hours_in_day,
        extract(epoch from
            {{ local_day_end('kpis.local_date', 'sites.timezone') }}
            - {{ local_day_start('kpis.local_date', 'sites.timezone') }}
        ) / 3600 as expected_hours
    from {{ ref('fct_site_daily_kpis') }} as kpis
    inner join {{ ref('dim_sites') }} as sites on sites.site_id = kpis.site_id
),

inputs as (
    -- Hours the KPI input holds per site-day
    select site_id, local_date, count(*) as hours, count(distinct local_hour) as distinct_hours
    from {{ ref('int_site_hourly_crossings') }}
    group by site_id, local_date
)

-- Days with a missing (or extra) hour
select day_lengths.*, inputs.hours, inputs.distinct_hours
from day_lengths
left join inputs using (site_id, local_date)
where inputs.hours is distinct from day_lengths.expected_hours
   or inputs.distinct_hours is distinct from least(day_lengths.expected_hours, 24)
   or day_lengths.hours_in_day is distinct from day_lengths.expected_hours

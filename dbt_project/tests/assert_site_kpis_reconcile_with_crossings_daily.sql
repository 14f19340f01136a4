{{ config(meta={'dagster': {'ref': {'name': 'fct_site_daily_kpis'}}}) }}
-- Reported in Dagster as a check of fct_site_daily_kpis.
-- The site KPIs' daily totals equal the sum of fct_crossings_daily over the site's cameras,
-- lines and classes (days without crossings count zero).
-- Judged in runs that build both marts (macros/built_together.sql).
{% if built_together(['fct_site_daily_kpis', 'fct_crossings_daily']) %}
with daily as (
    -- Crossings per site-day and direction
    select
        site_id,
        local_date,
        sum(crossings) filter (where direction = 'in') as total_in,
        sum(crossings) filter (where direction = 'out') as total_out
    from {{ ref('fct_crossings_daily') }}
    group by site_id, local_date
)

-- Site-days where the two disagree, or that only one side has
select
    site_id,
    local_date,
    kpis.total_in as kpi_in,
    daily.total_in as daily_in,
    kpis.total_out as kpi_out,
    daily.total_out as daily_out
from {{ ref('fct_site_daily_kpis') }} as kpis
full outer join daily using (site_id, local_date)
where kpis.site_id is null
   or kpis.total_in <> coalesce(daily.total_in, 0)
   or kpis.total_out <> coalesce(daily.total_out, 0)
{% else %}
select null as site_id, null::date as local_date where false
{% endif %}

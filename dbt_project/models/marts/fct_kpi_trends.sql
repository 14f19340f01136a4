{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['site_id', 'local_date', 'kpi', 'comparison'],
        on_schema_change='fail',
    )
}}
-- Each daily KPI of each site compared with three baselines, with a trend direction and strength
-- from the kpi_trend_thresholds seed:
--   previous_day            the value the day before
--   same_weekday_last_week  the value 7 days before
--   previous_week           the mean daily value of the 7 days ending this day versus the 7 before
--                           (only when both weeks have a row for every day)
-- A change of a day moves the trends of the 13 days after it, so those are rebuilt too.
with rebuild_from as (
    -- Per site, the first day whose KPIs are in the incremental window
    select site_id, min(local_date) as first_day
    from {{ ref('fct_site_daily_kpis') }}
    where {{ incremental_window('local_date', 'source_updated_at') }}
    group by site_id
),

daily as (
    -- The KPIs those days need: from 13 days before the first one rebuilt
    select kpis.*
    from {{ ref('fct_site_daily_kpis') }} as kpis
    inner join rebuild_from on rebuild_from.site_id = kpis.site_id
    where kpis.local_date >= rebuild_from.first_day - 13
),

long as (
    -- One row per site, day and KPI
    select daily.site_id, daily.local_date, daily.is_partial_day, daily.source_updated_at, kpi.name, kpi.value
    from daily
    cross join lateral (
        values
            ('crossings_in', daily.total_in::numeric),
            ('crossings_out', daily.total_out::numeric),
            ('crossings_total', daily.total_crossings::numeric),
            ('max_occupancy', daily.max_occupancy::numeric),
            ('mean_dwell_s', daily.mean_dwell_s::numeric)
    ) as kpi (name, value)
),

baselines as (
    -- Baselines by calendar offset: a missing day is a missing baseline (not the row before it),
    -- and a weekly mean needs all 7 days
    select
        site_id,
        local_date,
        is_partial_day,
        source_updated_at,
        name as kpi,
        value,
        sum(value) over day_before as previous_day_value,
        sum(value) over week_before as same_weekday_last_week_value,
        case when count(*) over this_week = 7 then avg(value) over this_week end as this_week_mean,
        case when count(*) over previous_week = 7 then avg(value) over previous_week end as previous_week_mean
    from long
    window
        day_before as (partition by site_id, name order by local_date
                       range between interval '1 day' preceding and interval '1 day' preceding),
        week_before as (partition by site_id, name order by local_date
                        range between interval '7 days' preceding and interval '7 days' preceding),
        this_week as (partition by site_id, name order by local_date
                      range between interval '6 days' preceding and current row),
        previous_week as (partition by site_id, name order by local_date
                          range between interval '13 days' preceding and interval '7 days' preceding)
),

comparisons as (
    -- One row per comparison: the value and its baseline
    select baselines.site_id, baselines.local_date, baselines.is_partial_day, baselines.source_updated_at,
           baselines.kpi, comparison.name, comparison.value, comparison.baseline
    from baselines
    inner join rebuild_from on rebuild_from.site_id = baselines.site_id
    cross join lateral (
        values
            ('previous_day', baselines.value, baselines.previous_day_value),
            ('same_weekday_last_week', baselines.value, baselines.same_weekday_last_week_value),
            ('previous_week', baselines.this_week_mean, baselines.previous_week_mean)
    ) as comparison (name, value, baseline)
    where baselines.local_date >= rebuild_from.first_day
),

changes as (
    -- Absolute and relative change; from a zero baseline any rise counts as +100 %
    select
        *,
        value - baseline as change_abs,
        case
            when baseline = 0 and value = 0 then 0
            when baseline = 0 then 100
            else round(100 * (value - baseline) / abs(baseline), 2)
        end as change_pct
    from comparisons
),

thresholds as (
    select strength, min_abs_change_pct from {{ ref('kpi_trend_thresholds') }}
)

-- Strength: the strongest threshold the change reaches; direction is flat below the first non-zero one
select
    changes.local_date,
    changes.site_id,
    changes.kpi,
    changes.name as comparison,
    changes.is_partial_day,
    changes.value,
    changes.baseline,
    changes.change_abs,
    changes.change_pct,
    case
        when strength.strength is null then null
        when strength.strength = 'flat' then 'flat'
        when changes.change_pct > 0 then 'up'
        else 'down'
    end as direction,
    strength.strength,
    changes.source_updated_at
from changes
left join lateral (
    select thresholds.strength
    from thresholds
    where thresholds.min_abs_change_pct <= abs(changes.change_pct)
    order by thresholds.min_abs_change_pct desc
    limit 1
) as strength on true

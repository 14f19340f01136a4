{#- The body of a KPI trends mart: each daily KPI of each entity (`keys`: a site, or a site's
    camera) in `daily` compared with three baselines, with a trend direction and strength from the
    kpi_trend_thresholds seed. One macro for every grain, so sites and cameras trend by the same rules:
      previous_day            the value the day before
      same_weekday_last_week  the value 7 days before
      previous_week           the mean daily value of the 7 days ending this day versus the 7 before
                              (only when both weeks have a row for every day)
    `daily` needs local_date, is_partial_day, source_updated_at and the KPI columns below.
    A change of a day moves the trends of the 13 days after it, so those are rebuilt too. -#}
{% macro kpi_trends(daily, keys) -%}
{%- set key_list = keys | join(', ') -%}
with rebuild_from as (
    -- Per entity, the first day whose KPIs are in the incremental window
    select {{ key_list }}, min(local_date) as first_day
    from {{ daily }}
    where {{ incremental_window('local_date', 'source_updated_at') }}
    group by {{ key_list }}
),

days as (
    -- The KPIs those days need: from 13 days before the first one rebuilt
    select kpis.*
    from {{ daily }} as kpis
    inner join rebuild_from using ({{ key_list }})
    where kpis.local_date >= rebuild_from.first_day - 13
),

long as (
    -- One row per entity, day and KPI
    select {{ key_list }}, local_date, is_partial_day, source_updated_at, kpi.name, kpi.value
    from days
    cross join lateral (
        values
            ('crossings_in', days.total_in::numeric),
            ('crossings_out', days.total_out::numeric),
            ('crossings_total', days.total_crossings::numeric),
            ('max_occupancy', days.max_occupancy::numeric),
            ('mean_dwell_s', days.mean_dwell_s::numeric)
    ) as kpi (name, value)
),

baselines as (
    -- Baselines by calendar offset: a missing day is a missing baseline (not the row before it),
    -- and a weekly mean needs all 7 days
    select
        {{ key_list }},
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
        day_before as (partition by {{ key_list }}, name order by local_date
                       range between interval '1 day' preceding and interval '1 day' preceding),
        week_before as (partition by {{ key_list }}, name order by local_date
                        range between interval '7 days' preceding and interval '7 days' preceding),
        this_week as (partition by {{ key_list }}, name order by local_date
                      range between interval '6 days' preceding and current row),
        previous_week as (partition by {{ key_list }}, name order by local_date
                          range between interval '13 days' preceding and interval '7 days' preceding)
),

comparisons as (
    -- One row per comparison: the value and its baseline
    select {{ key_list }}, baselines.local_date, baselines.is_partial_day, baselines.source_updated_at,
           baselines.kpi, comparison.name, comparison.value, comparison.baseline
    from baselines
    inner join rebuild_from using ({{ key_list }})
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
    {% for key in keys %}changes.{{ key }},
    {% endfor -%}
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
{%- endmacro %}

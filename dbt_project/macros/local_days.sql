{#- Local calendar arithmetic for sites: a local day starts at local midnight in the site's IANA
    timezone, so it lasts 23, 24 or 25 hours around DST changes. -#}

{#- The UTC instant where the local day `date_expr` begins in timezone `tz_expr`. -#}
{% macro local_day_start(date_expr, tz_expr) -%}
    (({{ date_expr }})::timestamp at time zone ({{ tz_expr }}))
{%- endmacro %}

{#- The UTC instant where the local day `date_expr` ends (the next local midnight). -#}
{% macro local_day_end(date_expr, tz_expr) -%}
    {{ local_day_start('(' ~ date_expr ~ ') + 1', tz_expr) }}
{%- endmacro %}

{#- The local date of a UTC timestamp. -#}
{% macro local_date(ts_expr, tz_expr) -%}
    (({{ ts_expr }}) at time zone ({{ tz_expr }}))::date
{%- endmacro %}

{#- The local calendar columns every hourly fact carries: bucket_local, local_date, local_hour.
    A UTC hour belongs to the local day in which it starts. -#}
{% macro local_calendar_columns(bucket_expr, tz_expr) -%}
    ({{ bucket_expr }}) at time zone ({{ tz_expr }}) as bucket_local,
    {{ local_date(bucket_expr, tz_expr) }} as local_date,
    extract(hour from ({{ bucket_expr }}) at time zone ({{ tz_expr }}))::int as local_hour
{%- endmacro %}

{#- The rows an incremental run (re)builds, as a WHERE predicate.

    Full builds take everything. Incremental runs take rows whose `time_column` lies within
    `lookback_days` of the newest `target_time_column` (default: the same name) already built,
    which catches late events for recent hours; with `updated_column`, also rows whose source
    changed within `lookback_days` of the newest change already built (kept in the target's
    `source_updated_at`), which catches a rollup partition of any age that Dagster recomputed.
    Rebuilding an unchanged row merges identical values, so the window may be generous. -#}
{% macro incremental_window(time_column, updated_column=none, target_time_column=none) -%}
{%- if is_incremental() -%}
    {%- set lookback = "interval '" ~ var('lookback_days') ~ " days'" -%}
    ({{ time_column }} >= (select coalesce(max({{ target_time_column or time_column }}), '-infinity') from {{ this }}) - {{ lookback }}
    {%- if updated_column %}
     or {{ updated_column }} >= (select coalesce(max(source_updated_at), '-infinity') from {{ this }}) - {{ lookback }}
    {%- endif -%})
{%- else -%}
    true
{%- endif -%}
{%- endmacro %}

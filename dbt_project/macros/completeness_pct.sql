{#- Share of expected health samples that arrived, in percent (capped at 100: clock jitter can
    deliver one sample more than the day's length allows). -#}
{% macro completeness_pct(samples, expected) -%}
    round(100.0 * least({{ samples }}, {{ expected }}) / nullif({{ expected }}, 0), 2)
{%- endmacro %}

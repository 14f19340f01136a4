{#- True when this dbt invocation builds every model in `model_names` (always true while parsing, so
    the test's refs are recorded). A test that compares two marts judges only such runs: Dagster's
    automation rebuilds just the marts whose inputs changed, and the other one is rightly behind
    until its own run. Judged in a run that rebuilds only one side, such a test failed every few
    minutes on a healthy platform (the soak test, issue 11). Each mart's own checks, and the
    reconciliations with rollups and raw, run in every build of it. -#}
{% macro built_together(model_names) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- for name in model_names -%}
        {%- if 'model.' ~ project_name ~ '.' ~ name not in selected_resources -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{% endmacro %}

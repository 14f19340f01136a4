{#- A model's schema is exactly its configured `schema` (`marts`, `staging`), not dbt's default
    `<target schema>_<schema>`: BI users and the camcount_bi grants rely on the name `marts`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

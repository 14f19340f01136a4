{#- Views are replaced in place (`create or replace view`) instead of dbt's default swap: build the
    new view under a temporary name, rename the old one away, then `drop ... cascade` it. That drop
    takes every view built on the old one with it, and Dagster's automation builds only the models
    whose inputs changed, so the dependents it did not select stayed missing ("relation
    staging.int_site_days does not exist" in the next run). Replacing in place keeps dependents and
    is atomic.

    Postgres refuses an in-place replacement that renames, retypes or removes a column ("cannot
    change name of view column"). Such a change to a model needs a full refresh (`dbt build
    --full-refresh`, or `full_refresh: true` in the marts job's run config), which drops and
    re-creates, rebuilding every dependent in the same run. -#}
{% materialization view, adapter='postgres' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set in_place = existing_relation is not none and existing_relation.is_view and not should_full_refresh() -%}
  {%- set grant_config = config.get('grants') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here: a drop below and the create commit together, so no reader sees neither
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if existing_relation is not none and not in_place %}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif %}

  {% call statement('main') -%}
    {%- if in_place -%}
      {{ get_replace_view_sql(target_relation, sql) }}
    {%- else -%}
      {{ get_create_view_as_sql(target_relation, sql) }}
    {%- endif -%}
  {%- endcall %}

  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

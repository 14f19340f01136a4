{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['site_id', 'local_date', 'kpi', 'comparison'],
        on_schema_change='fail',
    )
}}
-- Each daily KPI of each site against three baselines, trend direction and strength from the
-- kpi_trend_thresholds seed (rules in macros/kpi_trends.sql, shared with fct_camera_kpi_trends).
{{ kpi_trends(ref('fct_site_daily_kpis'), ['site_id']) }}

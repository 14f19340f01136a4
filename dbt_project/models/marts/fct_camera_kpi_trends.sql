{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['camera_id', 'local_date', 'kpi', 'comparison'],
        on_schema_change='fail',
    )
}}
-- Each daily KPI of each camera against three baselines, by the same rules as the sites'
-- fct_kpi_trends (macros/kpi_trends.sql): the camera rows of the KPI reports' trends.
{{ kpi_trends(ref('fct_camera_daily_kpis'), ['site_id', 'camera_id']) }}

{{ config(meta={'dagster': {'ref': {'name': 'fct_site_daily_kpis'}}}) }}
-- Reported in Dagster as a check of fct_site_daily_kpis.
-- No count, sample or duration in the marts is negative.
{%- set checks = [
    ('fct_crossings_hourly', ['crossings']),
    ('fct_crossings_daily', ['crossings', 'active_hours']),
    ('fct_occupancy_hourly', ['samples', 'min_occupancy', 'max_occupancy']),
    ('fct_dwell_hourly', ['entries', 'exits', 'total_dwell_s']),
    ('fct_camera_health_daily', ['samples', 'expected_samples', 'dropped_frames', 'reconnects']),
    ('fct_site_daily_kpis', ['total_in', 'total_out', 'peak_hour_crossings', 'max_occupancy', 'zone_exits',
                             'mean_dwell_s', 'health_samples', 'expected_health_samples']),
    ('fct_camera_daily_kpis', ['total_in', 'total_out', 'max_occupancy', 'occupancy_samples', 'zone_exits',
                               'total_dwell_s', 'health_samples', 'expected_health_samples']),
] %}
{% for model, columns in checks %}
-- {{ model }}: rows with a negative {{ columns | join(', ') }}
select '{{ model }}' as model, count(*) as negative_rows
from {{ ref(model) }}
where {% for column in columns %}{{ column }} < 0{% if not loop.last %} or {% endif %}{% endfor %}
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

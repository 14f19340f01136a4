"""Reports: daily and weekly KPI reports per site, read from the dbt marts (`kpis`), written as
HTML, PNG and CSV (`render`) by partitioned assets (`assets`) on schedules."""

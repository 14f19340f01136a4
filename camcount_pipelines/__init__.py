"""camcount's Dagster code location, one folder per domain: raw, rollups, marts (dbt), reports,
archive (and retention), alerts. Each holds its own assets, sensors, jobs, schedules and checks;
partitions, resources, the instance and the ingest watermark are shared at this level, and
`definitions` lists them all. Domain packages load nothing on import."""

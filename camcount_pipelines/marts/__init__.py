"""Marts: the dbt project as Dagster assets (`dbt`, which needs the parsed manifest) and the sensor
that keeps them fresh. `profile` gives dbt its connection without needing the manifest, so the
set-up script can build the manifest with the runtime profile."""

"""camcount's Dagster code location: rollups, streaming sensors, alerts, archival, retention, reports."""

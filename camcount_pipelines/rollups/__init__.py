"""Rollups: raw -> UTC hours -> each site's local days -> weeks and months. The SQL is in
`compute`; the assets around it are thin (`assets`, `checks`); the ingest sensor requests the
hours that new rows touched (`sensors`), and `schedules` re-run the recent calendar periods."""

"""Rollups: raw -> UTC hours -> each site's local days -> weeks and months. The SQL is in
`compute`; the assets around it are thin (`assets`, `checks`); the sensors request the hours that
new rows touched and then the days, weeks and months above them (`sensors`), and `schedules`
re-run the recent calendar periods."""

-- Which UTC hours hold rows their hourly rollup has not covered yet, for every rolled-up raw
-- table (seen_seq, 0004, follows crossings only: the real-time counters' rule). The ingest sensor
-- records touched_seq, the highest ingest_seq it saw in the hour, and when (touched_at); an hour
-- is stale while touched_seq > rollup_seq. Stale hours are re-requested by the repair sensor
-- (camcount_pipelines.rollups.sensors), so an hour whose run failed, or whose rows arrived before
-- its partition existed (a clock ahead), is rolled up without waiting for new rows.
-- depends: 0004_realtime_counters

ALTER TABLE rollup.hour_watermarks
    ADD COLUMN touched_seq bigint,
    ADD COLUMN touched_at timestamptz;

CREATE INDEX hour_watermarks_stale ON rollup.hour_watermarks (bucket)
    WHERE touched_seq > coalesce(rollup_seq, 0);

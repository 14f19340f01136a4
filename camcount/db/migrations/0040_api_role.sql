-- The read-only role camcount_api, which `camcount serve` logs in as (docs/security.md, "Roles").
-- It may read exactly what the API serves, and what the counters function it calls reads:
--   ops.sites, ops.cameras                       sites, cameras, lines and zones
--   raw.crossing_events (event columns only)     the crossings stream and, through
--   rollup.crossings_hourly, hour_watermarks,    rollup.counts_to_date(), the exact counters
--     ingest_cursor
--   raw.zone_occupancy, raw.stream_health        occupancy now and today's peak, camera health
--   raw.ingest_seq (SELECT)                      raw.ingest_high_watermark(), the stream's barrier
-- and nothing else: no writes, no track ids, no zone events, platform events, alerts, archive
-- manifest or marts, no temporary tables. The role is NOLOGIN, as the others: camcount db migrate
-- enables its login with CAMCOUNT_API_PASSWORD (camcount.db.roles).
-- depends: 0030_camera_health_interval

DO $$
BEGIN
    CREATE ROLE camcount_api NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END $$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO camcount_api', current_database());
END $$;

GRANT USAGE ON SCHEMA raw, rollup, ops TO camcount_api;
GRANT SELECT ON ops.sites, ops.cameras TO camcount_api;
-- Column privileges: a track id follows one person across events, and the API never serves it.
GRANT SELECT (time, event_id, camera_id, line_id, direction, class_name, ingest_seq)
    ON raw.crossing_events TO camcount_api;
GRANT SELECT ON raw.zone_occupancy, raw.stream_health TO camcount_api;
GRANT SELECT ON rollup.crossings_hourly, rollup.hour_watermarks, rollup.ingest_cursor TO camcount_api;
GRANT SELECT ON SEQUENCE raw.ingest_seq TO camcount_api;
GRANT EXECUTE ON FUNCTION rollup.counts_to_date(timestamptz), raw.ingest_high_watermark() TO camcount_api;

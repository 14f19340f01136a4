-- camcount schema, version 1: the raw hypertables the worker writes, and the registry.
--   raw     what cameras produced (written by the worker only)
--   rollup  aggregates computed by Dagster
--   ops     registry, alerts, archive manifest
--   marts   dbt models for BI
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS rollup;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS marts;

-- Registry: upserted by the worker from its config file at start.
CREATE TABLE ops.sites (
    site_id    text PRIMARY KEY,
    name       text NOT NULL,
    timezone   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ops.cameras (
    camera_id   text PRIMARY KEY,
    site_id     text NOT NULL REFERENCES ops.sites (site_id),
    name        text NOT NULL,
    source_kind text NOT NULL,
    -- Lines and zones as configured (geometry, side names); no credentials.
    geometry    jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One sequence orders every raw insert. Dagster sensors follow it with a cursor.
CREATE SEQUENCE raw.ingest_seq;

-- A sequence value is taken before its transaction commits, so a reader that saw seq 10 might
-- later find seq 9 appear. Every raw insert statement therefore holds this advisory lock in
-- shared mode; raw.ingest_high_watermark() takes it exclusively, so every seq it returns is
-- already committed (or rolled back) and a cursor can never skip a row.
CREATE FUNCTION raw.hold_ingest_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7261001);
    RETURN NULL;
END $$;

CREATE FUNCTION raw.ingest_high_watermark() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7261001);
    RETURN (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM raw.ingest_seq);
END $$;

-- Line crossings. event_id is a UUIDv5 of (camera, line, track run, track, direction, frame
-- time): replaying the same input yields the same ids, and the unique key (which must include
-- the time column) makes the replay insert nothing.
CREATE TABLE raw.crossing_events (
    time         timestamptz NOT NULL,
    event_id     uuid        NOT NULL,
    camera_id    text        NOT NULL,
    line_id      text        NOT NULL,
    track_run_id text        NOT NULL,
    track_id     bigint      NOT NULL,
    direction    text        NOT NULL CHECK (direction IN ('in', 'out')),
    class_name   text        NOT NULL,
    confidence   real        NOT NULL,
    ingest_seq   bigint      NOT NULL DEFAULT nextval('raw.ingest_seq'),
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, time)
);
-- Daily chunks: rollups and archival work a day at a time; a busy day is ~10^5-10^6 rows.
SELECT create_hypertable('raw.crossing_events', 'time', chunk_time_interval => interval '1 day');
CREATE INDEX ON raw.crossing_events (camera_id, line_id, time DESC);
CREATE INDEX ON raw.crossing_events (ingest_seq);

-- Zone entries and exits, with dwell on exit.
CREATE TABLE raw.zone_events (
    time         timestamptz NOT NULL,
    event_id     uuid        NOT NULL,
    camera_id    text        NOT NULL,
    zone_id      text        NOT NULL,
    track_run_id text        NOT NULL,
    track_id     bigint      NOT NULL,
    transition   text        NOT NULL CHECK (transition IN ('enter', 'exit')),
    class_name   text        NOT NULL,
    dwell_s      double precision,
    ingest_seq   bigint      NOT NULL DEFAULT nextval('raw.ingest_seq'),
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, time)
);
SELECT create_hypertable('raw.zone_events', 'time', chunk_time_interval => interval '1 day');
CREATE INDEX ON raw.zone_events (camera_id, zone_id, time DESC);
CREATE INDEX ON raw.zone_events (ingest_seq);

-- Occupancy: one sample per camera, zone, class and second (max tracks inside that second).
CREATE TABLE raw.zone_occupancy (
    time        timestamptz NOT NULL,
    camera_id   text        NOT NULL,
    zone_id     text        NOT NULL,
    class_name  text        NOT NULL,
    occupancy   integer     NOT NULL CHECK (occupancy >= 0),
    ingest_seq  bigint      NOT NULL DEFAULT nextval('raw.ingest_seq'),
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, zone_id, class_name, time)
);
-- 86,400 samples per zone and class per day: daily chunks keep each under a few million rows.
SELECT create_hypertable('raw.zone_occupancy', 'time', chunk_time_interval => interval '1 day');
CREATE INDEX ON raw.zone_occupancy (ingest_seq);

-- Stream health: one sample per camera every 10 s.
CREATE TABLE raw.stream_health (
    time              timestamptz NOT NULL,
    camera_id         text        NOT NULL,
    input_fps         real        NOT NULL,
    processed_fps     real        NOT NULL,
    dropped_frames    integer     NOT NULL,
    decode_ms_p50     real,
    decode_ms_p95     real,
    inference_ms_p50  real,
    inference_ms_p95  real,
    e2e_ms_p50        real,
    e2e_ms_p95        real,
    bitrate_kbps      real,
    jitter_ms         real,
    reconnects        integer     NOT NULL DEFAULT 0,
    queue_depth       integer     NOT NULL DEFAULT 0,
    quality           real        NOT NULL CHECK (quality BETWEEN 0 AND 1),
    ingest_seq        bigint      NOT NULL DEFAULT nextval('raw.ingest_seq'),
    ingested_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, time)
);
-- Small rows (8,640 per camera per day): weekly chunks.
SELECT create_hypertable('raw.stream_health', 'time', chunk_time_interval => interval '7 days');
CREATE INDEX ON raw.stream_health (ingest_seq);

-- Append-only log of what happened to the platform (camera down/up, spool replays, ...).
CREATE TABLE raw.platform_events (
    time        timestamptz NOT NULL,
    event_id    uuid        NOT NULL,
    kind        text        NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    camera_id   text,
    message     text        NOT NULL,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ingest_seq  bigint      NOT NULL DEFAULT nextval('raw.ingest_seq'),
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, time)
);
SELECT create_hypertable('raw.platform_events', 'time', chunk_time_interval => interval '7 days');
CREATE INDEX ON raw.platform_events (ingest_seq);
CREATE INDEX ON raw.platform_events (camera_id, time DESC);

CREATE TRIGGER hold_ingest_lock BEFORE INSERT ON raw.crossing_events
    FOR EACH STATEMENT EXECUTE FUNCTION raw.hold_ingest_lock();
CREATE TRIGGER hold_ingest_lock BEFORE INSERT ON raw.zone_events
    FOR EACH STATEMENT EXECUTE FUNCTION raw.hold_ingest_lock();
CREATE TRIGGER hold_ingest_lock BEFORE INSERT ON raw.zone_occupancy
    FOR EACH STATEMENT EXECUTE FUNCTION raw.hold_ingest_lock();
CREATE TRIGGER hold_ingest_lock BEFORE INSERT ON raw.stream_health
    FOR EACH STATEMENT EXECUTE FUNCTION raw.hold_ingest_lock();
CREATE TRIGGER hold_ingest_lock BEFORE INSERT ON raw.platform_events
    FOR EACH STATEMENT EXECUTE FUNCTION raw.hold_ingest_lock();

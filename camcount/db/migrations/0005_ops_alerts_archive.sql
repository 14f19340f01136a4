-- Operational state written by Dagster: alerts and the Parquet archive manifest.
-- depends: 0004_realtime_counters

-- One row per alert episode. The partial unique index allows one *active* alert per rule and
-- subject, so a condition that stays true updates last_seen_at instead of opening duplicates.
CREATE TABLE ops.alerts (
    alert_id     bigserial PRIMARY KEY,
    rule         text        NOT NULL,
    subject      text        NOT NULL,  -- camera id, or 'platform'
    severity     text        NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    message      text        NOT NULL,
    value        double precision,
    threshold    double precision,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
CREATE UNIQUE INDEX alerts_one_active ON ops.alerts (rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX ON ops.alerts (opened_at DESC);

-- One row per archived (table, UTC day) file. A chunk is dropped only when every day it covers
-- is here with the same row count and newest ingest_seq the chunk still has.
CREATE TABLE ops.archive_manifest (
    table_name     text        NOT NULL,
    day            date        NOT NULL,
    path           text        NOT NULL,
    rows           bigint      NOT NULL,
    max_ingest_seq bigint,
    checksum       text        NOT NULL,
    file_bytes     bigint      NOT NULL,
    db_bytes       bigint      NOT NULL,
    archived_at    timestamptz NOT NULL DEFAULT now(),
    verified_at    timestamptz NOT NULL,
    PRIMARY KEY (table_name, day)
);

-- Rollups beyond hourly crossings, all computed by Dagster (camcount_pipelines.assets.rollups).
-- Hourly tables hold additive parts (sums, sums of squares) so daily rows built from them are
-- exact; p95 is not additive, so daily rows keep the largest hourly p95 under an honest name.
-- depends: 0002_hourly_crossings_rollup

CREATE TABLE rollup.occupancy_hourly (
    bucket          timestamptz NOT NULL,
    camera_id       text        NOT NULL,
    zone_id         text        NOT NULL,
    class_name      text        NOT NULL,
    samples         bigint      NOT NULL,
    occupancy_sum   bigint      NOT NULL,
    occupancy_sqsum bigint      NOT NULL,
    avg_occupancy   double precision NOT NULL,
    min_occupancy   integer     NOT NULL,
    max_occupancy   integer     NOT NULL,
    stddev_occupancy double precision,
    p95_occupancy   double precision NOT NULL,
    first_occupancy integer     NOT NULL,
    last_occupancy  integer     NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, zone_id, class_name, bucket)
);
SELECT create_hypertable('rollup.occupancy_hourly', 'bucket', chunk_time_interval => interval '30 days');

CREATE TABLE rollup.dwell_hourly (
    bucket       timestamptz NOT NULL,
    camera_id    text        NOT NULL,
    zone_id      text        NOT NULL,
    class_name   text        NOT NULL,
    entries      bigint      NOT NULL,
    exits        bigint      NOT NULL,
    dwell_sum_s  double precision NOT NULL,
    dwell_mean_s double precision,
    dwell_max_s  double precision,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, zone_id, class_name, bucket)
);
SELECT create_hypertable('rollup.dwell_hourly', 'bucket', chunk_time_interval => interval '30 days');

-- Health per camera and hour: completeness (samples vs one per 10 s) survives raw retention.
CREATE TABLE rollup.stream_health_hourly (
    bucket            timestamptz NOT NULL,
    camera_id         text        NOT NULL,
    samples           bigint      NOT NULL,
    e2e_ms_p95_avg    double precision,
    e2e_ms_p95_max    double precision,
    queue_depth_max   integer     NOT NULL,
    dropped_frames    bigint      NOT NULL,
    reconnects        bigint      NOT NULL,
    quality_avg       double precision NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, bucket)
);
SELECT create_hypertable('rollup.stream_health_hourly', 'bucket', chunk_time_interval => interval '30 days');

-- Local-calendar rollups: `day`, `week` (Monday) and `month` (1st) are dates in the site's
-- timezone, so one row means one local day whatever the site's UTC offset.
CREATE TABLE rollup.crossings_daily (
    day         date        NOT NULL,
    site_id     text        NOT NULL,
    camera_id   text        NOT NULL,
    line_id     text        NOT NULL,
    direction   text        NOT NULL,
    class_name  text        NOT NULL,
    crossings   bigint      NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, line_id, direction, class_name, day)
);
SELECT create_hypertable('rollup.crossings_daily', 'day', chunk_time_interval => interval '365 days');

CREATE TABLE rollup.crossings_weekly (LIKE rollup.crossings_daily INCLUDING DEFAULTS);
ALTER TABLE rollup.crossings_weekly RENAME COLUMN day TO week;
ALTER TABLE rollup.crossings_weekly ADD PRIMARY KEY (camera_id, line_id, direction, class_name, week);
SELECT create_hypertable('rollup.crossings_weekly', 'week', chunk_time_interval => interval '3650 days');

CREATE TABLE rollup.crossings_monthly (LIKE rollup.crossings_daily INCLUDING DEFAULTS);
ALTER TABLE rollup.crossings_monthly RENAME COLUMN day TO month;
ALTER TABLE rollup.crossings_monthly ADD PRIMARY KEY (camera_id, line_id, direction, class_name, month);
SELECT create_hypertable('rollup.crossings_monthly', 'month', chunk_time_interval => interval '3650 days');

CREATE TABLE rollup.occupancy_daily (
    day             date        NOT NULL,
    site_id         text        NOT NULL,
    camera_id       text        NOT NULL,
    zone_id         text        NOT NULL,
    class_name      text        NOT NULL,
    samples         bigint      NOT NULL,
    avg_occupancy   double precision NOT NULL,
    min_occupancy   integer     NOT NULL,
    max_occupancy   integer     NOT NULL,
    stddev_occupancy double precision,
    p95_hourly_max  double precision NOT NULL,
    first_occupancy integer     NOT NULL,
    last_occupancy  integer     NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, zone_id, class_name, day)
);
SELECT create_hypertable('rollup.occupancy_daily', 'day', chunk_time_interval => interval '365 days');

CREATE TABLE rollup.dwell_daily (
    day          date        NOT NULL,
    site_id      text        NOT NULL,
    camera_id    text        NOT NULL,
    zone_id      text        NOT NULL,
    class_name   text        NOT NULL,
    entries      bigint      NOT NULL,
    exits        bigint      NOT NULL,
    dwell_sum_s  double precision NOT NULL,
    dwell_mean_s double precision,
    dwell_max_s  double precision,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, zone_id, class_name, day)
);
SELECT create_hypertable('rollup.dwell_daily', 'day', chunk_time_interval => interval '365 days');

CREATE TABLE rollup.stream_health_daily (
    day             date        NOT NULL,
    site_id         text        NOT NULL,
    camera_id       text        NOT NULL,
    samples         bigint      NOT NULL,
    expected_samples bigint     NOT NULL,
    completeness    double precision NOT NULL,
    e2e_ms_p95_max  double precision,
    queue_depth_max integer     NOT NULL,
    dropped_frames  bigint      NOT NULL,
    reconnects      bigint      NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, day)
);
SELECT create_hypertable('rollup.stream_health_daily', 'day', chunk_time_interval => interval '365 days');

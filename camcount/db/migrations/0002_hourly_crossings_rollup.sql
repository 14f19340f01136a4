-- The hourly crossings rollup, computed by Dagster (camcount_pipelines.assets.rollups).
-- depends: 0001_schemas_and_raw_hypertables
CREATE TABLE rollup.crossings_hourly (
    bucket      timestamptz NOT NULL,
    camera_id   text        NOT NULL,
    line_id     text        NOT NULL,
    direction   text        NOT NULL,
    class_name  text        NOT NULL,
    crossings   bigint      NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (camera_id, line_id, direction, class_name, bucket)
);
-- 24 rows per camera-line-direction-class per day: monthly chunks.
SELECT create_hypertable('rollup.crossings_hourly', 'bucket', chunk_time_interval => interval '30 days');

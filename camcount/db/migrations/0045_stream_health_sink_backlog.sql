-- The worker's sink backlog, sampled with each camera's stream health: rows it holds that the
-- database does not have yet, in memory plus in its local spool (README, "Where rows go when they
-- cannot be written"). queue_depth is only the capture buffer (at most buffer_frames); this is the
-- queue that grows while the database is away. The same figure for every camera of one worker.
-- NULL: sampled by a worker older than this column (its spooled rows replay without it).
-- depends: 0040_api_role

ALTER TABLE raw.stream_health
    ADD COLUMN sink_backlog bigint CONSTRAINT stream_health_sink_backlog_non_negative CHECK (sink_backlog >= 0);

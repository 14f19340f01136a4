-- Real-time counters: counts to date that are exactly the raw counts, at rollup cost.
--
-- rollup.hour_watermarks says, per UTC hour, up to which ingest_seq the hourly crossings
-- rollup is complete (rollup_seq: the run took raw.ingest_high_watermark() first, so every
-- row with a lower seq was committed and counted) and the highest seq the ingest sensor has
-- seen for that hour (seen_seq). An hour is *clean* when seen_seq <= rollup_seq: no row the
-- sensor saw is missing from the rollup. rollup.ingest_cursor is how far the sensor has read.
--
-- A clean hour contributes its rollup plus its raw rows above greatest(rollup_seq, scanned_seq)
-- (found through the ingest_seq index: only the unscanned tail; the sensor advances
-- scanned_seq only over seqs it has really read, so a gap never hides rows). Every other hour (never
-- rolled up, dirty from late data, the hour still running, or straddling a non-hour-aligned
-- local boundary) is counted from raw. The sum is the raw count, whatever has materialized.
-- The raw tail is bounded by an ingest_seq index range even before the ingest sensor has run, and
-- the function runs without JIT: its plan (one index scan per chunk) would otherwise spend ~2 s
-- compiling a query that runs in ~30 ms.
-- depends: 0003_rollup_tables

CREATE TABLE rollup.hour_watermarks (
    bucket      timestamptz PRIMARY KEY,
    rollup_seq  bigint,
    seen_seq    bigint,
    computed_at timestamptz
);

CREATE TABLE rollup.ingest_cursor (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    scanned_seq bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION rollup.counts_to_date(p_now timestamptz DEFAULT now())
RETURNS TABLE (
    site_id      text,
    camera_id    text,
    line_id      text,
    direction    text,
    period       text,
    period_start timestamptz,
    crossings    bigint
)
LANGUAGE sql STABLE AS $$
WITH periods AS (
    -- Local hour, day, ISO week and month starts of every site, as UTC instants.
    SELECT s.site_id, p.period,
           date_trunc(p.period, p_now AT TIME ZONE s.timezone) AT TIME ZONE s.timezone AS period_start
    FROM ops.sites s CROSS JOIN (VALUES ('hour'), ('day'), ('week'), ('month')) AS p (period)
),
bounds AS (
    SELECT date_trunc('hour', min(period_start)) AS lo FROM periods
),
scanned AS (
    SELECT coalesce((SELECT scanned_seq FROM rollup.ingest_cursor), 0) AS seq
),
clean AS (
    SELECT w.bucket, w.rollup_seq
    FROM rollup.hour_watermarks w, bounds
    WHERE w.bucket >= bounds.lo
      AND w.bucket + interval '1 hour' <= p_now
      AND w.rollup_seq IS NOT NULL
      AND coalesce(w.seen_seq, 0) <= w.rollup_seq
      -- an hour a local boundary cuts in two (half-hour offsets) must come from raw
      AND NOT EXISTS (
          SELECT 1 FROM periods p
          WHERE p.period_start > w.bucket AND p.period_start < w.bucket + interval '1 hour'
      )
),
tail_from AS (
    -- Tail rows of clean hours lie above both scanned_seq and their hour's rollup_seq, so above
    -- the larger of scanned_seq and the smallest rollup_seq: an index range even before the
    -- sensor has ever run (scanned_seq = 0).
    SELECT greatest((SELECT seq FROM scanned), (SELECT min(rollup_seq) FROM clean), 0) AS seq
),
raw_hours AS (
    SELECT h AS bucket
    FROM bounds, generate_series(bounds.lo, date_trunc('hour', p_now), interval '1 hour') AS h
    WHERE NOT EXISTS (SELECT 1 FROM clean c WHERE c.bucket = h)
),
counted AS (
    -- Raw rows are pre-aggregated per minute: every local boundary falls on a whole minute.
    SELECT r.camera_id, r.line_id, r.direction, r.bucket AS at, r.crossings
    FROM rollup.crossings_hourly r JOIN clean c USING (bucket)
    UNION ALL
    SELECT e.camera_id, e.line_id, e.direction, time_bucket(interval '1 minute', e.time), count(*)
    FROM raw_hours h
    JOIN raw.crossing_events e ON e.time >= h.bucket AND e.time < h.bucket + interval '1 hour'
    WHERE e.time <= p_now
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT e.camera_id, e.line_id, e.direction, time_bucket(interval '1 minute', e.time), count(*)
    FROM scanned, tail_from, raw.crossing_events e
    JOIN clean c ON c.bucket = time_bucket(interval '1 hour', e.time)
    WHERE e.ingest_seq > tail_from.seq
      AND e.ingest_seq > scanned.seq
      AND e.ingest_seq > c.rollup_seq
      AND e.time >= (SELECT lo FROM bounds)
    GROUP BY 1, 2, 3, 4
)
SELECT p.site_id, k.camera_id, k.line_id, k.direction, p.period, p.period_start,
       sum(k.crossings)::bigint
FROM counted k
JOIN ops.cameras cam USING (camera_id)
JOIN periods p ON p.site_id = cam.site_id AND k.at >= p.period_start
GROUP BY p.site_id, k.camera_id, k.line_id, k.direction, p.period, p.period_start
$$;

ALTER FUNCTION rollup.counts_to_date(timestamptz) SET jit = off;

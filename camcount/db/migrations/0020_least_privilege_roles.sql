-- Least-privilege roles for the two writers (docs/security.md, "Roles"):
--   camcount_worker     INSERT into the raw hypertables, and upsert the site/camera registry it
--                       reads its config from. It cannot read, change or delete raw rows, nor
--                       touch rollups, alerts, the archive manifest or the marts.
--   camcount_pipelines  read raw and the registry; write rollups, alerts and the archive
--                       manifest; drop old chunks only through ops.drop_old_chunks() below.
--                       It cannot insert, change or delete raw rows.
-- (camcount_bi, migration 0010, reads the marts only.)
--
-- Roles are cluster-wide and several camcount databases may share a cluster (tests, demo), so
-- they are created only where missing. They are NOLOGIN because a migration cannot read
-- secrets: camcount.db.roles.ensure_logins() enables LOGIN with the password from
-- CAMCOUNT_WORKER_PASSWORD / CAMCOUNT_PIPELINES_PASSWORD after migrating.
-- depends: 0005_ops_alerts_archive 0010_bi_role

DO $$
BEGIN
    CREATE ROLE camcount_worker NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END $$;

DO $$
BEGIN
    CREATE ROLE camcount_pipelines NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END $$;

-- TEMPORARY for the worker: its sink COPYs each batch into a per-session temporary staging
-- table, then merges it with INSERT ... ON CONFLICT DO NOTHING (realtime_worker/sink/db.py).
-- Migration 0010 revoked TEMPORARY from PUBLIC, so it is granted here by name.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO camcount_worker', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO camcount_pipelines', current_database());
END $$;

-- The worker. INSERT only on raw: no SELECT, so a stolen worker credential cannot read the
-- history; USAGE on the sequence is what the ingest_seq column default's nextval() needs.
-- Creating a new chunk on insert needs nothing more (TimescaleDB creates it as the owner).
GRANT USAGE ON SCHEMA raw, ops TO camcount_worker;
GRANT INSERT ON ALL TABLES IN SCHEMA raw TO camcount_worker;
GRANT USAGE ON SEQUENCE raw.ingest_seq TO camcount_worker;
-- The registry upsert: INSERT ... ON CONFLICT DO UPDATE needs SELECT and UPDATE too.
GRANT SELECT, INSERT, UPDATE ON ops.sites, ops.cameras TO camcount_worker;

-- The pipelines. Reading raw.ingest_high_watermark() reads the sequence: SELECT on it.
GRANT USAGE ON SCHEMA raw, rollup, ops TO camcount_pipelines;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO camcount_pipelines;
GRANT SELECT ON SEQUENCE raw.ingest_seq TO camcount_pipelines;
-- Rollups are recomputed per window: DELETE the window, INSERT its recomputation.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rollup TO camcount_pipelines;
GRANT SELECT ON ops.sites, ops.cameras TO camcount_pipelines;
-- Alerts open, refresh, resolve and (retention) delete resolved ones; the manifest is upserted.
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.alerts TO camcount_pipelines;
GRANT USAGE ON SEQUENCE ops.alerts_alert_id_seq TO camcount_pipelines;
GRANT SELECT, INSERT, UPDATE ON ops.archive_manifest TO camcount_pipelines;

-- Tables later migrations create in raw and rollup get the same rights (ops tables each grant
-- their own: they belong to one writer or the other).
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA raw GRANT INSERT ON TABLES TO camcount_worker;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA raw GRANT SELECT ON TABLES TO camcount_pipelines;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA rollup
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO camcount_pipelines;

-- TimescaleDB's drop_chunks() demands ownership of the hypertable ("must be owner of hypertable"),
-- and ownership would also allow DELETE, TRUNCATE, ALTER and DROP TABLE. Instead, this function
-- runs as the owner (SECURITY DEFINER) and does one thing: drop whole chunks of a hypertable in
-- raw or rollup older than a given instant. Retention's rule (raw chunks only once archived and
-- verified) stays in camcount_pipelines, which checks it under the ingest lock before calling.
-- The search_path is pinned so a caller cannot slip its own objects into the owner's session;
-- the extension's schema is looked up, since TimescaleDB may be installed outside `public`.
DO $$
BEGIN
    EXECUTE format($fn$
        CREATE OR REPLACE FUNCTION ops.drop_old_chunks(
            p_hypertable regclass, p_older_than timestamptz, p_newer_than timestamptz DEFAULT NULL
        ) RETURNS SETOF text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
        BEGIN
            IF p_older_than IS NULL THEN
                RAISE EXCEPTION 'ops.drop_old_chunks: older_than is required';
            END IF;
            IF NOT EXISTS (
                SELECT 1
                FROM timescaledb_information.hypertables h
                JOIN pg_namespace n ON n.nspname = h.hypertable_schema
                JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = h.hypertable_name
                WHERE c.oid = p_hypertable AND n.nspname IN ('raw', 'rollup')
            ) THEN
                RAISE EXCEPTION 'ops.drop_old_chunks: %% is not a raw or rollup hypertable', p_hypertable
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN QUERY SELECT c::text FROM %s.drop_chunks(
                p_hypertable, older_than => p_older_than, newer_than => p_newer_than) AS c;
        END $body$
    $fn$, (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'timescaledb'));
END $$;
REVOKE ALL ON FUNCTION ops.drop_old_chunks(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.drop_old_chunks(regclass, timestamptz, timestamptz) TO camcount_pipelines;

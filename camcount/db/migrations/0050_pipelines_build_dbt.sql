-- dbt builds the marts as camcount_pipelines, like every other Dagster step (docs/security.md,
-- "Roles"): Dagster needs no owner's credentials. dbt creates, replaces and drops the views in
-- `staging` and the tables in `marts`, so it owns them; this is exactly what it needs beyond
-- migration 0020's reads of raw, rollup and the registry:
--   USAGE, CREATE on the schemas staging and marts    (both exist: dbt creates only missing schemas)
--   TEMPORARY on the database                         (incremental models merge through a temp table)
-- and nothing else: still no CREATE on the database, `raw`, `rollup`, `ops` or `public`.
-- depends: 0040_api_role

-- The migrating role becomes a member of camcount_pipelines, so it can hand over what it built
-- (below), set the role's default privileges, and still run dbt itself: dbt's profile sets the
-- role camcount_pipelines whatever the login, so every object belongs to the role that replaces it.
GRANT camcount_pipelines TO CURRENT_USER;

CREATE SCHEMA IF NOT EXISTS staging;
GRANT USAGE, CREATE ON SCHEMA staging, marts TO camcount_pipelines;

DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO camcount_pipelines', current_database());
END $$;

-- Views and tables earlier builds created as the migrating role now belong to camcount_pipelines
-- (their grants to camcount_bi stay).
DO $$
DECLARE
    relation record;
BEGIN
    FOR relation IN
        SELECT c.relkind, n.nspname, c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('staging', 'marts') AND c.relkind IN ('r', 'p', 'v', 'm')
          AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO camcount_pipelines',
                       CASE relation.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       relation.nspname, relation.relname);
    END LOOP;
END $$;

-- camcount_bi reads the marts tables dbt creates from now on (0010 covered the migrating role's).
ALTER DEFAULT PRIVILEGES FOR ROLE camcount_pipelines IN SCHEMA marts GRANT SELECT ON TABLES TO camcount_bi;

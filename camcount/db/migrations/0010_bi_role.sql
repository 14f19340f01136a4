-- The read-only BI role camcount_bi: SELECT on the dbt marts (tables there now and later), and
-- nothing else: no raw, rollup or ops data, no writes, no CREATE anywhere.
-- Roles are cluster-wide and several camcount databases may share a cluster (tests, demo), so
-- the role is created only where missing. It is created NOLOGIN because a migration cannot read
-- the password from the environment: camcount.db.roles.ensure_bi_login() sets LOGIN PASSWORD
-- from CAMCOUNT_BI_PASSWORD after migrating.
-- depends: 0002_hourly_crossings_rollup

-- The role (a concurrent migration of another database may create it first: that is fine)
DO $$
BEGIN
    CREATE ROLE camcount_bi NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END $$;

-- No CREATE for anyone but owners: neither schemas nor temporary tables in this database, nor
-- tables in `public` (PostgreSQL < 15 grants that to PUBLIC). BI connects explicitly.
DO $$
BEGIN
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO camcount_bi', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Read access to the marts: the tables there now, and every table the migrating role (the one
-- dbt runs as, both from CAMCOUNT_DATABASE_URL) creates there later; dbt re-creates tables on
-- each full build, so the default privilege is what keeps them readable.
GRANT USAGE ON SCHEMA marts TO camcount_bi;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO camcount_bi;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA marts GRANT SELECT ON TABLES TO camcount_bi;

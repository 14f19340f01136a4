-- Fleet mode (docs/deploy.md): many workers, each camera counted by exactly one of them.
--
-- The fleet config lives here: `camcount cameras apply FILE` writes sites (ops.sites), cameras
-- (ops.cameras: the source as written, with `${VAR}` references unexpanded, so no credential
-- ever reaches the database; the camera's other settings; lines and zones in `geometry`, as
-- the registry already holds them) and the worker-wide sections (ops.fleet). A camera is in the
-- fleet while its `source` is set; `apply` clears it for cameras no longer in the file (their
-- rows stay joined to the registry).
--
-- Ownership: ops.workers is who is alive (heartbeat), ops.camera_leases who owns which camera
-- until when. A lease's epoch is a fencing token: it only increases, by one at each claim. A
-- worker renews only a lease that has not expired, so an expired epoch's expires_at is final;
-- when a camera is claimed again the ended epoch goes to ops.camera_lease_history. The sink
-- writes a row stamped under epoch E only if it was stamped before E's expires_at
-- (realtime_worker/fleet/fencing.py), in the same transaction as the row itself.
-- depends: 0045_stream_health_sink_backlog

CREATE TABLE ops.fleet (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- detector, tracker, sink, health, sources: the worker config's sections besides sites and cameras
    settings   jsonb   NOT NULL,
    -- +1 at every apply: workers poll it and reload when it moves
    version    bigint  NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE ops.cameras
    ADD COLUMN source text
        -- A password in a URL must be a `${VAR}` reference, resolved from each worker's environment.
        CONSTRAINT cameras_source_has_no_password CHECK (source !~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*:[^/@$]+@'),
    ADD COLUMN settings jsonb;

CREATE TABLE ops.workers (
    worker_id    text        PRIMARY KEY,
    host         text        NOT NULL,
    version      text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    capacity     integer     NOT NULL CHECK (capacity >= 0)
);

CREATE TABLE ops.camera_leases (
    camera_id  text        PRIMARY KEY REFERENCES ops.cameras (camera_id) ON DELETE CASCADE,
    worker_id  text,       -- the last holder (it stays after the lease expires or is released)
    epoch      bigint      NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    claimed_at timestamptz,
    expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX ON ops.camera_leases (worker_id);

CREATE TABLE ops.camera_lease_history (
    camera_id  text        NOT NULL,
    epoch      bigint      NOT NULL,
    worker_id  text        NOT NULL,
    claimed_at timestamptz,
    ended_at   timestamptz NOT NULL,  -- the epoch's final expires_at (or its release)
    PRIMARY KEY (camera_id, epoch)
);

-- The fencing rules, enforced whoever writes: the epoch never goes back, a new holder always
-- comes with a new epoch, and an expired lease is never extended.
CREATE FUNCTION ops.check_lease_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        RAISE EXCEPTION 'lease of camera %: epoch % may not go back to %', OLD.camera_id, OLD.epoch, NEW.epoch;
    END IF;
    IF NEW.epoch = OLD.epoch AND NEW.worker_id IS DISTINCT FROM OLD.worker_id THEN
        RAISE EXCEPTION 'lease of camera %: a new holder needs a new epoch', OLD.camera_id;
    END IF;
    IF NEW.epoch = OLD.epoch AND OLD.expires_at <= now() AND NEW.expires_at > OLD.expires_at THEN
        RAISE EXCEPTION 'lease of camera % epoch %: expired, it cannot be renewed', OLD.camera_id, OLD.epoch;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER check_lease_update BEFORE UPDATE ON ops.camera_leases
    FOR EACH ROW EXECUTE FUNCTION ops.check_lease_update();

-- The worker: heartbeat, claim, renew and release leases, read the fleet config and the fence.
GRANT SELECT ON ops.fleet, ops.camera_lease_history TO camcount_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.workers TO camcount_worker;
GRANT SELECT, UPDATE ON ops.camera_leases TO camcount_worker;
GRANT INSERT ON ops.camera_lease_history TO camcount_worker;
-- The pipelines watch the fleet (worker liveness, unowned cameras) and alert on it.
GRANT SELECT ON ops.fleet, ops.workers, ops.camera_leases, ops.camera_lease_history TO camcount_pipelines;

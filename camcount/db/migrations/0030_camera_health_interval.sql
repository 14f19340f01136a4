-- Each worker samples stream health every `health.interval_s` of its own config. The registry
-- records the interval per camera, so health coverage in the rollups divides by the interval the
-- camera was actually sampled at, not by a constant.
-- depends: 0020_least_privilege_roles

ALTER TABLE ops.cameras
    ADD COLUMN health_interval_s double precision NOT NULL DEFAULT 10
    CONSTRAINT cameras_health_interval_positive CHECK (health_interval_s > 0);

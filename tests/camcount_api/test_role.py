"""The role camcount_api (migration 0040) reads what the API serves and calls the counters and
the ingest barrier; the server refuses it everything else. Tested by logging in as it."""

from __future__ import annotations

import psycopg
import pytest

ALLOWED = [
    "SELECT site_id, name, timezone FROM ops.sites LIMIT 1",
    "SELECT camera_id, geometry, health_interval_s FROM ops.cameras LIMIT 1",
    "SELECT time, event_id, camera_id, line_id, direction, class_name, ingest_seq FROM raw.crossing_events LIMIT 1",
    "SELECT * FROM raw.zone_occupancy LIMIT 1",
    "SELECT * FROM raw.stream_health LIMIT 1",
    "SELECT * FROM rollup.counts_to_date() LIMIT 1",
    "SELECT raw.ingest_high_watermark()",
]
DENIED = [
    "SELECT track_id FROM raw.crossing_events LIMIT 1",  # follows one person across events
    "SELECT * FROM raw.crossing_events LIMIT 1",
    "SELECT * FROM raw.zone_events LIMIT 1",
    "SELECT * FROM raw.platform_events LIMIT 1",
    "SELECT * FROM rollup.occupancy_hourly LIMIT 1",
    "SELECT * FROM ops.alerts LIMIT 1",
    "SELECT * FROM ops.archive_manifest LIMIT 1",
    "SELECT * FROM marts.dim_sites LIMIT 1",
    "INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id, direction, "
    "class_name, confidence) VALUES (now(), gen_random_uuid(), 'c', 'l', 'r', 1, 'in', 'person', 1)",
    "UPDATE ops.cameras SET name = 'x'",
    "DELETE FROM ops.sites",
    "TRUNCATE raw.stream_health",
    "INSERT INTO rollup.ingest_cursor (scanned_seq) VALUES (0)",
    "SELECT nextval('raw.ingest_seq')",
    "SELECT * FROM ops.drop_old_chunks('raw.crossing_events', now())",
    "CREATE TEMPORARY TABLE scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
]


@pytest.mark.parametrize("statement", ALLOWED)
def test_the_api_role_reads_what_the_api_serves(api_database_url: str, statement: str) -> None:
    with psycopg.connect(api_database_url, autocommit=True) as conn:
        conn.execute(statement).fetchall()


@pytest.mark.parametrize("statement", DENIED)
def test_the_api_role_is_refused_everything_else(api_database_url: str, statement: str) -> None:
    with psycopg.connect(api_database_url, autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_api_role_is_no_superuser_and_cannot_create_roles_or_databases(db: psycopg.Connection) -> None:
    assert db.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles "
                      "WHERE rolname = 'camcount_api'").fetchone() == (False, False, False, False, False)

"""Least-privilege roles (migrations 0020, 0050), tested by logging in as each role: the worker may
insert raw rows and upsert the registry; the pipelines may read raw, write rollups, alerts and
the archive manifest, build the dbt schemas, and drop chunks only through ops.drop_old_chunks().
Everything else is refused by the server."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from camcount.db.roles import PIPELINES_ROLE, WORKER_ROLE
from camcount_pipelines.alerts import rules
from camcount_pipelines.archive import parquet
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.sensors import scan_new_rows
from realtime_worker.config import WorkerConfig
from realtime_worker.registry import register_cameras
from realtime_worker.sink.db import BatchWriter
from realtime_worker.sink.rows import crossing_row
from realtime_worker.types import CrossingEvent, Direction
from tests.security.conftest import LoginAs

# A day no other test writes, so its chunk holds only this module's rows and may be dropped.
DAY = date(2035, 3, 7)
T0 = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC).timestamp()

DENIED_TO_BOTH = [
    "DELETE FROM raw.crossing_events",
    "UPDATE raw.zone_events SET zone_id = 'x'",
    "TRUNCATE raw.platform_events",
    "SELECT drop_chunks('raw.crossing_events', older_than => now())",
    "CREATE TABLE raw.scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "CREATE SCHEMA scratch",
    "ALTER TABLE raw.crossing_events ADD COLUMN x int",
    "DROP TABLE ops.sites",
    "DELETE FROM ops.cameras",
]
DENIED_TO_WORKER = [
    "SELECT * FROM marts.dim_sites LIMIT 1",
    "SELECT * FROM raw.crossing_events LIMIT 1",
    "SELECT * FROM raw.platform_events LIMIT 1",
    "SELECT * FROM rollup.crossings_hourly LIMIT 1",
    "INSERT INTO rollup.ingest_cursor (scanned_seq) VALUES (0)",
    "SELECT * FROM ops.alerts LIMIT 1",
    "INSERT INTO ops.archive_manifest (table_name, day, path, rows, checksum, file_bytes, db_bytes, verified_at)"
    " VALUES ('t', '2035-01-01', 'p', 0, 'c', 0, 0, now())",
    "SELECT raw.ingest_high_watermark()",
    "SELECT * FROM ops.drop_old_chunks('raw.crossing_events', now())",
]
DENIED_TO_PIPELINES = [
    "INSERT INTO raw.platform_events (time, event_id, kind, severity, message) "
    "VALUES (now(), gen_random_uuid(), 'k', 'info', 'm')",
    "INSERT INTO ops.cameras (camera_id, site_id, name, source_kind) VALUES ('c', 's', 'n', 'file')",
    "UPDATE ops.sites SET name = 'x'",
]


@pytest.mark.parametrize(("role", "statement"), [
    *[(role, s) for s in DENIED_TO_BOTH for role in (WORKER_ROLE, PIPELINES_ROLE)],
    *[(WORKER_ROLE, s) for s in DENIED_TO_WORKER],
    *[(PIPELINES_ROLE, s) for s in DENIED_TO_PIPELINES],
])
def test_role_is_refused(role: str, statement: str, login_as: LoginAs) -> None:
    with psycopg.connect(login_as(role), autocommit=True) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_worker_writes_raw_rows_and_the_registry(login_as: LoginAs, db: psycopg.Connection, camera_id: str) -> None:
    """The sink's own path (temporary staging table, COPY, INSERT ... ON CONFLICT) as the worker,
    into a chunk the worker's insert creates, replayed to prove the conflict path works too."""
    url = login_as(WORKER_ROLE)
    rows = [crossing_row(CrossingEvent(camera_id, "door", i, Direction.IN, "person", 0.9, T0 + i), "run")
            for i in range(5)]
    writer = BatchWriter(url)
    try:
        assert writer.write(rows) == {"crossing_events": 5}
        assert writer.write(rows) == {"crossing_events": 0}
    finally:
        writer.close()
    config = WorkerConfig.model_validate({
        "sites": [{"id": "roles-site", "timezone": "UTC"}],
        "cameras": [{"id": camera_id, "site": "roles-site", "source": "rtsp://127.0.0.1:9/x"}],
    })
    with psycopg.connect(url) as conn:
        register_cameras(conn, config, config.cameras)
        register_cameras(conn, config, config.cameras)  # the second run updates
    assert db.execute("SELECT count(*) FROM raw.crossing_events WHERE camera_id = %s", (camera_id,)).fetchone() == (5,)
    assert db.execute("SELECT source_kind FROM ops.cameras WHERE camera_id = %s", (camera_id,)).fetchone() == ("rtsp",)


def test_pipelines_run_rollups_sensor_alerts_archive_and_retention(
    login_as: LoginAs, db: psycopg.Connection, camera_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelines' own functions, run as camcount_pipelines on rows of DAY."""
    monkeypatch.setenv("CAMCOUNT_HOME", str(tmp_path))  # where the archive goes
    db.execute(
        """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id, direction,
                                            class_name, confidence)
           SELECT to_timestamp(%s + n), gen_random_uuid(), %s, 'door', 'run', n, 'in', 'person', 0.9
           FROM generate_series(1, 10) AS n""", (T0, camera_id))
    start = datetime.fromtimestamp(T0, UTC)
    with psycopg.connect(login_as(PIPELINES_ROLE)) as conn:
        assert scan_new_rows(conn, 0).watermark > 0
        assert compute.rollup_hours(conn, "crossings_hourly", start, start + timedelta(hours=1)).rows >= 1
        rules.evaluate(conn, rules.AlertRules(), start)  # reads health, events and the registry
        # Alert writes on this test's own rule only: the database is shared with the pipelines' tests.
        only_mine = {"security_test": {camera_id}}
        rules.apply(conn, [rules.Firing("security_test", camera_id, "info", 1, 0, "test")], only_mine)
        rules.apply(conn, [], only_mine)  # resolves it
        conn.commit()
        assert parquet.archive_day(conn, "crossing_events", DAY).rows >= 10
        [chunk] = [c for c in parquet.old_chunks(conn, "crossing_events", start + timedelta(days=30))
                   if c.start <= start < c.end]
        assert parquet.unarchived_days(conn, chunk) == []
        dropped = conn.execute("SELECT * FROM ops.drop_old_chunks('raw.crossing_events', %s, %s)",
                               (chunk.end, chunk.start)).fetchall()
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not a raw or rollup hypertable"):
            conn.execute("SELECT * FROM ops.drop_old_chunks('ops.alerts', now())")
    assert [name for (name,) in dropped] == [chunk.name]
    assert db.execute("SELECT count(*) FROM raw.crossing_events WHERE camera_id = %s", (camera_id,)).fetchone() == (0,)
    assert db.execute("SELECT resolved_at IS NOT NULL FROM ops.alerts WHERE subject = %s", (camera_id,)).fetchone() == (
        True,)


def test_roles_cannot_log_in_without_a_password_from_the_environment(database_url: str) -> None:
    """NOLOGIN until `camcount db migrate` runs with CAMCOUNT_<ROLE>_PASSWORD set: a fresh role
    is unusable even on a trust-auth server."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        role = f"camcount_probe_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))  # a role before its login
        try:
            with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
                psycopg.connect(database_url.replace("://camcount@", f"://{role}@"), connect_timeout=5)
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        flags = admin.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname IN ('camcount_worker', 'camcount_pipelines') ORDER BY 1").fetchall()
    assert flags == [(role, False, False, False, False) for role in ("camcount_pipelines", "camcount_worker")]

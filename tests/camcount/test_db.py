"""The embedded cluster, migrations, bring-your-own database, and the one-line errors."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bench.harness.net import free_port
from camcount.db import connect
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.errors import DatabaseError, DatabaseUnavailable
from tests.conftest import run_camcount

HYPERTABLES = {"raw.crossing_events", "raw.zone_events", "raw.zone_occupancy", "raw.stream_health",
               "raw.platform_events", "rollup.crossings_hourly"}


def _assert_one_line_error(result, *needles: str) -> None:
    assert result.returncode == 3, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_migrate_twice_is_a_noop(database_url: str, db: psycopg.Connection) -> None:
    assert migrate() == []
    result = run_camcount("db", "migrate")
    assert result.returncode == 0 and "schema up to date" in result.stdout
    names = {f"{schema}.{table}" for schema, table in db.execute(
        "SELECT hypertable_schema, hypertable_name FROM timescaledb_information.hypertables")}
    assert names >= HYPERTABLES


def test_bring_your_own_database_starts_no_embedded_cluster(scratch_cluster: Cluster, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"CAMCOUNT_DATABASE_URL": scratch_cluster.recreate_database("byo"), "CAMCOUNT_HOME": str(home)}
    started = run_camcount("db", "start", env=env)
    assert started.returncode == 0 and "no embedded cluster started" in started.stdout
    assert run_camcount("db", "migrate", env=env).returncode == 0
    assert run_camcount("db", "url", env=env).stdout.strip() == scratch_cluster.url("byo")
    assert not (home / "db").exists()
    with psycopg.connect(scratch_cluster.url("byo")) as conn:
        count = conn.execute("SELECT count(*) FROM timescaledb_information.hypertables").fetchone()[0]
    assert count >= len(HYPERTABLES)


def test_wrong_database_url_is_one_line_with_password_masked() -> None:
    result = run_camcount("db", "migrate", env={"CAMCOUNT_DATABASE_URL": f"postgresql://u:s3cret@127.0.0.1:{free_port()}/x"})
    _assert_one_line_error(result, "cannot connect to postgresql://u:***@127.0.0.1", "CAMCOUNT_DATABASE_URL")
    assert "s3cret" not in result.stderr


def test_server_without_timescaledb_preloaded(scratch_cluster: Cluster) -> None:
    scratch_cluster.recreate_database("plain")
    with psycopg.connect(scratch_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'plpgsql'")  # anything but timescaledb
    scratch_cluster.stop()
    scratch_cluster.start()
    try:
        result = run_camcount("db", "migrate", env={"CAMCOUNT_DATABASE_URL": scratch_cluster.url("plain")})
        _assert_one_line_error(result, "timescaledb", "shared_preload_libraries")
    finally:
        with psycopg.connect(scratch_cluster.url("postgres"), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET shared_preload_libraries")
        scratch_cluster.stop()
        scratch_cluster.start()


def test_port_in_use_is_one_line_with_remedy(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = {"CAMCOUNT_HOME": str(tmp_path), "CAMCOUNT_DB_PORT": str(port), "CAMCOUNT_DATABASE_URL": ""}
        result = run_camcount("db", "start", env=env)
    _assert_one_line_error(result, f"port {port}", "CAMCOUNT_DB_PORT")


def test_unwritable_home_is_one_line_with_remedy(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {"CAMCOUNT_HOME": str(blocker / "home"), "CAMCOUNT_DB_PORT": str(free_port()), "CAMCOUNT_DATABASE_URL": ""}
    result = run_camcount("db", "start", env=env)
    _assert_one_line_error(result, "CAMCOUNT_HOME")


@pytest.mark.parametrize("url_flag", [[], ["--dagster"]])
def test_url_prints_embedded_dsn_by_default(url_flag: list[str]) -> None:
    env = {"CAMCOUNT_DATABASE_URL": "", "CAMCOUNT_DB_PORT": "55999"}
    out = run_camcount("db", "url", *url_flag, env=env).stdout.strip()
    assert out == ("postgresql://camcount@127.0.0.1:55999/" + ("camcount_dagster" if url_flag else "camcount"))


def test_connection_error_keeps_libpq_s_whole_reason() -> None:
    """libpq says why on one line and what to check on the next: both reach the user, on one line."""
    result = run_camcount("db", "migrate", env={"CAMCOUNT_DATABASE_URL": f"postgresql://u@127.0.0.1:{free_port()}/x"})
    _assert_one_line_error(result, "failed: Connection refused; Is the server running on that host")


def test_a_server_that_is_down_is_told_from_a_misconfigured_one(database_url: str) -> None:
    """Only a server that is down is worth waiting for (the worker spools); wrong names are not."""
    with pytest.raises(DatabaseUnavailable):
        connect(f"postgresql://u@127.0.0.1:{free_port()}/x", timeout_s=2)
    for wrong in ({"dbname": "no_such_database"}, {"user": "no_such_role"}):
        with pytest.raises(DatabaseError) as raised:
            connect(make_conninfo(database_url, **wrong), timeout_s=2)
        assert not isinstance(raised.value, DatabaseUnavailable), raised.value


def test_starting_a_cluster_that_runs_on_another_port_says_which(scratch_cluster: Cluster) -> None:
    port = scratch_cluster.port
    elsewhere = Cluster(root=scratch_cluster.root, port=port + 1)
    message = rf"already runs on port {port}, not {port + 1}: set CAMCOUNT_DB_PORT={port}"
    with pytest.raises(DatabaseError, match=message):
        elsewhere.start()
    scratch_cluster.start()  # on its own port: nothing to say

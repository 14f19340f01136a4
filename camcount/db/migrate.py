"""Versioned SQL migrations (camcount/db/migrations/*.sql), applied with yoyo.

yoyo records what ran in its own tables, so `camcount db migrate` is a no-op the second time.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from yoyo import get_backend, read_migrations

from camcount.db import connect
from camcount.db.dsn import database_url
from camcount.db.roles import ensure_logins
from camcount.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def check_timescaledb(url: str | None = None) -> None:
    """Fail with the remedy when the server cannot run TimescaleDB (before touching anything)."""
    with connect(url, autocommit=True) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if not available:
        raise DatabaseError(
            "the database server has no timescaledb extension installed; install TimescaleDB on it, "
            "or unset CAMCOUNT_DATABASE_URL to use camcount's embedded TimescaleDB"
        )
    if "timescaledb" not in preload:
        raise DatabaseError(
            "timescaledb is installed but not preloaded; add it to shared_preload_libraries "
            "in postgresql.conf and restart the server"
        )


def pending_migrations(url: str | None = None) -> list[str]:
    backend = _backend(url)
    with backend.lock():
        return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))]


def migrate(url: str | None = None) -> list[str]:
    """Apply every pending migration in order; returns the ids applied (empty: up to date)."""
    check_timescaledb(url)
    backend = _backend(url)
    with backend.lock():
        pending = backend.to_apply(read_migrations(str(MIGRATIONS_DIR)))
        with contextlib.redirect_stdout(io.StringIO()):  # yoyo prints every SELECT's result
            backend.apply_migrations(pending)
    with connect(url, autocommit=True) as conn:
        ensure_logins(conn)  # secrets live in the environment, so not in a SQL migration
    return [m.id for m in pending]


def _backend(url: str | None):
    url = url or database_url()
    connect(url, autocommit=True).close()  # a clear error if unreachable, before yoyo's own
    return get_backend("postgresql+psycopg://" + url.split("://", 1)[1])

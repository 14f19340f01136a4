"""Database access shared by the worker, the pipelines and the CLI."""

from __future__ import annotations

import psycopg

from camcount.db.dsn import DATA_DB, database_url
from camcount.errors import DatabaseError
from camcount.redact import redact_dsn


def connect(url: str | None = None, *, autocommit: bool = False, timeout_s: int = 10) -> psycopg.Connection:
    """Open a connection (default: camcount's data database), failing with one line that names
    the server and the remedy."""
    url = url or database_url(DATA_DB)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=timeout_s)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to {redact_dsn(url)}: {reason}. {_remedy()}") from None


def _remedy() -> str:
    from camcount.settings import user_database_url

    if user_database_url():
        return ("Check CAMCOUNT_DATABASE_URL (host, port, user, password, database), "
                "or unset it to use the embedded database")
    return "Start the embedded database with `camcount db start`"

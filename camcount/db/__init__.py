"""Database access shared by the worker, the pipelines and the CLI."""

from __future__ import annotations

import psycopg

from camcount.db.dsn import DATA_DB, database_url
from camcount.errors import DatabaseError, DatabaseUnavailable
from camcount.redact import redact_dsn

# libpq's words for a server that is down, starting, stopping or full, or out of reach for now:
# waiting helps. Any other failure to connect (authentication, an unknown role or database, no
# pg_hba.conf entry, an unknown host, TLS) is a misconfiguration that no retry can fix.
_UNAVAILABLE = (
    "connection refused", "timeout expired", "timed out", "no route to host", "network is unreachable",
    "no such file or directory", "the database system is", "too many clients", "remaining connection slots",
    "server closed the connection unexpectedly", "connection reset",
)


def connect(url: str | None = None, *, autocommit: bool = False, timeout_s: int = 10) -> psycopg.Connection:
    """Open a connection (default: camcount's data database), failing with one line that names
    the server, libpq's whole reason and the remedy: `DatabaseUnavailable` when the server is
    down (waiting helps), `DatabaseError` when the address or the credentials are wrong."""
    url = url or database_url(DATA_DB)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=timeout_s)
    except psycopg.OperationalError as exc:
        reason = error_reason(exc)
        unavailable = any(words in reason.lower() for words in _UNAVAILABLE)
        kind = DatabaseUnavailable if unavailable else DatabaseError
        raise kind(f"cannot connect to {redact_dsn(url)}: {reason}. {_remedy()}") from None


def error_reason(exc: BaseException) -> str:
    """A database error's whole message on one line, with its SQLSTATE when the server sent one:
    libpq puts the reason and its hint on separate lines ("...failed: Connection refused" / "Is
    the server running on that host...?"), the server its detail ("Failing row contains ...")."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    text = "; ".join(lines).removeprefix("connection failed: ") or type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{text} (SQLSTATE {sqlstate})" if sqlstate else text


def _remedy() -> str:
    from camcount.settings import user_database_url

    if user_database_url():
        return ("Check CAMCOUNT_DATABASE_URL (host, port, user, password, database), "
                "or unset it to use the embedded database")
    return "Start the embedded database with `camcount db start`"

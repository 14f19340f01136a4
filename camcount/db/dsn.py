"""Database addresses: the user's own server, or the embedded cluster."""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlsplit, urlunsplit

from camcount.settings import user_database_url

DATA_DB = "camcount"
DAGSTER_DB = "camcount_dagster"
EMBEDDED_USER = "camcount"


def embedded_port() -> int:
    return int(os.environ.get("CAMCOUNT_DB_PORT", "55432"))


def database_url(database: str = DATA_DB) -> str:
    """The libpq URL of a camcount database.

    `CAMCOUNT_DATABASE_URL` wins for the data database. Dagster's instance storage goes to
    `CAMCOUNT_DAGSTER_DATABASE_URL` when set, else to the user's database too (its tables
    live in their own schema-less namespace: `public`), else to the embedded cluster.
    """
    if database == DAGSTER_DB:
        dagster_url = os.environ.get("CAMCOUNT_DAGSTER_DATABASE_URL")
        if dagster_url:
            return dagster_url
    user_url = user_database_url()
    if user_url:
        return user_url
    return f"postgresql://{EMBEDDED_USER}@127.0.0.1:{embedded_port()}/{database}"


def sqlalchemy_url(url: str) -> str:
    """The same address with the psycopg2 driver named: SQLAlchemy needs it for dagster-postgres."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg2://", url)


def role_url(url: str, role: str, password: str | None) -> str:
    """`url` (a postgresql:// URL) with its user and password replaced: where one of camcount's
    least-privilege roles logs in. No password: libpq's other sources (a trust-auth server, .pgpass)."""
    parts = urlsplit(url)
    userinfo = role + (f":{quote(password, safe='')}" if password else "")
    host = parts.netloc.rpartition("@")[2]  # host[:port], as given (IPv6 brackets, or empty for a socket)
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))

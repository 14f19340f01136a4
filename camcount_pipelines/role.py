"""Who the pipelines are in the database: the least-privilege role camcount_pipelines (migrations
0020 and 0050, docs/security.md "Roles"). Rollups, sensors, alerts, archive, retention, dbt and
reports all connect through here, so no pipeline step has more rights than that role, whatever
login it was given: it may read raw, write rollups, alerts and the archive manifest, build the
dbt schemas, and drop chunks only through ops.drop_old_chunks()."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

from camcount.db import connect as connect_to
from camcount.db.dsn import database_url, role_url
from camcount.db.roles import PIPELINES_PASSWORD_ENV, PIPELINES_ROLE

PIPELINES_DATABASE_URL_ENV = "CAMCOUNT_PIPELINES_DATABASE_URL"


def pipelines_database_url() -> str:
    """`CAMCOUNT_PIPELINES_DATABASE_URL`; else camcount's database logged in as camcount_pipelines
    with `CAMCOUNT_PIPELINES_PASSWORD` (the variable `camcount db migrate` enables that login with);
    else camcount's database as given, which `connect` and dbt then use as camcount_pipelines."""
    if url := os.environ.get(PIPELINES_DATABASE_URL_ENV):
        return url
    if password := os.environ.get(PIPELINES_PASSWORD_ENV):
        return role_url(database_url(), PIPELINES_ROLE, password)
    return database_url()


def connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection acting as camcount_pipelines (SET ROLE: a no-op for that login, and for the
    migrating role, a member since migration 0050, it drops every right the role lacks)."""
    conn = connect_to(pipelines_database_url(), autocommit=autocommit)
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PIPELINES_ROLE)))
    if not autocommit:
        conn.commit()  # a SET inside a transaction that rolls back would be undone
    return conn

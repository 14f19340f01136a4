"""The BI role and the BI guide: camcount_bi reads the marts and nothing else, and every example
query in docs/bi.md runs as camcount_bi and returns rows."""

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from camcount.db.roles import BI_PASSWORD_ENV, BI_ROLE, ensure_bi_login
from tests.dbt_project.conftest import Marts

BI_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "bi.md"


@pytest.fixture
def bi_conn(marts: Marts, monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    """A connection as camcount_bi. The role is cluster-wide: an existing CAMCOUNT_BI_PASSWORD is
    kept, so the tests never change the password of a demo sharing the embedded cluster."""
    password = os.environ.get(BI_PASSWORD_ENV) or secrets.token_urlsafe(16)
    monkeypatch.setenv(BI_PASSWORD_ENV, password)
    with psycopg.connect(marts.url, autocommit=True) as admin:
        assert ensure_bi_login(admin)
    parts = urlsplit(marts.url)
    netloc = f"{BI_ROLE}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5432}"
    with psycopg.connect(urlunsplit(parts._replace(netloc=netloc)), autocommit=True) as conn:
        yield conn


def test_bi_role_reads_marts(bi_conn: psycopg.Connection, marts_conn: psycopg.Connection) -> None:
    tables = [row[0] for row in marts_conn.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    )]
    assert len(tables) == 14
    for table in tables:
        bi_conn.execute(sql.SQL("select * from marts.{} limit 1").format(sql.Identifier(table)))


def test_bi_role_cannot_read_anything_else(bi_conn: psycopg.Connection, marts_conn: psycopg.Connection) -> None:
    chunk = marts_conn.execute(
        "select format('%I.%I', chunk_schema, chunk_name) from timescaledb_information.chunks "
        "where hypertable_schema = 'raw' limit 1"
    ).fetchone()[0]
    for relation in ("raw.crossing_events", "rollup.crossings_hourly", "ops.sites", "ops.cameras",
                     "staging.stg_ops__sites", chunk):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi_conn.execute(f"select * from {relation} limit 1")


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.fct_crossings_daily (camera_id) values ('x')",
        "update marts.fct_site_daily_kpis set total_in = 0",
        "delete from marts.fct_crossings_hourly",
        "truncate marts.fct_occupancy_hourly",
        "drop view marts.dim_cameras",
        "insert into raw.crossing_events (time) values (now())",
        "create table marts.bi_scratch (x int)",
        "create table public.bi_scratch (x int)",
        "create schema bi_scratch",
        "create temporary table bi_scratch (x int)",
        "create view marts.bi_scratch as select 1",
    ],
)
def test_bi_role_cannot_write_or_create(bi_conn: psycopg.Connection, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi_conn.execute(statement)


def test_bi_guide_queries_run_as_bi_role(bi_conn: psycopg.Connection) -> None:
    queries = re.findall(r"```sql\n(.*?)```", BI_GUIDE.read_text(), flags=re.DOTALL)
    assert len(queries) == 5
    for query in queries:
        rows = bi_conn.execute(query).fetchall()
        assert rows, query

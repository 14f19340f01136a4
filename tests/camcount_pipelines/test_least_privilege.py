"""Dagster runs as camcount_pipelines (issue 11): every connection the pipelines open acts as that
role, whether it logs in as the role (CAMCOUNT_PIPELINES_PASSWORD, as the demo does) or as the
migrating owner (SET ROLE). As that role it cannot write a raw row, and it drops chunks only
through ops.drop_old_chunks(). (The pipelines' own steps run through these connections in every
test of this package; dbt's objects are the role's: tests/dbt_project/test_dbt_marts.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from camcount.db.roles import PIPELINES_ROLE
from camcount.db.schema import RAW_TABLE_NAMES
from camcount_pipelines.role import connect
from tests.security.conftest import enable_login

WRITES = {
    "insert": "INSERT INTO {t} SELECT * FROM {t} WHERE false",
    "update": "UPDATE {t} SET time = time WHERE false",
    "delete": "DELETE FROM {t} WHERE false",
    "truncate": "TRUNCATE {t}",
    "drop_chunks": "SELECT drop_chunks({name}::regclass, older_than => '2000-01-01'::timestamptz)",
}


@pytest.fixture(params=["login", "owner's login, SET ROLE"])
def pipelines(request: pytest.FixtureRequest, database_url: str,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    """A connection exactly as the pipelines open theirs, from either kind of login."""
    if request.param == "login":
        enable_login(database_url, PIPELINES_ROLE, monkeypatch)
    else:
        monkeypatch.delenv("CAMCOUNT_PIPELINES_PASSWORD", raising=False)
    with connect(autocommit=True) as conn:
        yield conn


def test_every_pipelines_connection_acts_as_camcount_pipelines(pipelines: psycopg.Connection) -> None:
    assert pipelines.execute("SELECT current_user").fetchone() == (PIPELINES_ROLE,)


@pytest.mark.parametrize("table", RAW_TABLE_NAMES)
@pytest.mark.parametrize("write", WRITES)
def test_camcount_pipelines_cannot_write_raw(pipelines: psycopg.Connection, table: str, write: str) -> None:
    statement = sql.SQL(WRITES[write]).format(t=sql.Identifier("raw", table), name=sql.Literal(f"raw.{table}"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pipelines.execute(statement)


def test_camcount_pipelines_drops_chunks_through_the_function_only(pipelines: psycopg.Connection) -> None:
    """The function drops whole old chunks of raw and rollup hypertables (none this old exist) and
    nothing else: retention and archival call it (camcount_pipelines.archive)."""
    for hypertable in ("raw.crossing_events", "rollup.crossings_hourly"):
        assert pipelines.execute("SELECT * FROM ops.drop_old_chunks(%s, '2000-01-01')", (hypertable,)).fetchall() == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not a raw or rollup hypertable"):
        pipelines.execute("SELECT * FROM ops.drop_old_chunks('ops.alerts', now())")

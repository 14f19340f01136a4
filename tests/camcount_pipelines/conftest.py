"""Fixtures for the Dagster code location: a connection to the shared test database, a unique
id prefix per test (tests share one database), a real temporary Dagster instance (or the demo's,
on Postgres), and helpers to materialize partition ranges in-process."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from camcount.db.dsn import sqlalchemy_url
from camcount_pipelines.alerts.rules import WEBHOOK_ENV
from camcount_pipelines.definitions import defs
from camcount_pipelines.instance import POSTGRES_URL_ENV, ensure_dagster_home


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url) as connection:
        yield connection


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    """A DAGSTER_HOME as the demo writes it (camcount_pipelines.instance), whose instance stores
    runs, ticks and sensor cursors in the test database."""
    for name in ("DAGSTER_HOME", "DAGSTER_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test
    monkeypatch.setenv(POSTGRES_URL_ENV, sqlalchemy_url(database_url))
    return ensure_dagster_home(tmp_path / "dagster")


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """A real HTTP endpoint as the alert webhook: the JSON bodies posted to it, in order."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


@pytest.fixture
def camcount_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    """A private CAMCOUNT_HOME (archives, reports), set after the database is up."""
    monkeypatch.setenv("CAMCOUNT_HOME", str(tmp_path))
    return tmp_path


MaterializeRange = Callable[..., dg.ExecuteInProcessResult]


def materialize_partitions(
    keys: list[dg.AssetKey], first: datetime | date, last: datetime | date,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Run assets over partitions [first, last] (inclusive) in one in-process run, like a backfill.

    Partition keys may be given as datetimes (hourly) or dates (daily and coarser).
    """
    assets = [defs.get_assets_def(key) for key in keys]
    return dg.materialize(
        assets,
        instance=instance,
        resources=defs.resources,
        tags={ASSET_PARTITION_RANGE_START_TAG: _key(first), ASSET_PARTITION_RANGE_END_TAG: _key(last)},
        selection=keys,
    )


@pytest.fixture
def materialize_range() -> MaterializeRange:
    """materialize_partitions as a fixture, for the tests of this package."""
    return materialize_partitions


def _key(moment: datetime | date) -> str:
    return moment.strftime("%Y-%m-%d-%H:%M") if isinstance(moment, datetime) else moment.isoformat()

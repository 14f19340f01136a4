"""Fixtures for the dbt project: its own database, realistic multi-site data with rollups, and
one `dbt build` shared by every test (each dbt invocation costs seconds).

dbt builds and tests everything in a database, so with the embedded cluster the marts get a
database of their own: rows other tests leave half-processed (raw without rollups, cameras
without geometry) must not fail these tests, nor these rows theirs.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from bench.harness.realistic_data import RealisticData, insert_realistic_crossings
from camcount_pipelines.marts.dbt import dbt_resource, scratch_target
from camcount_pipelines.rollups import compute
from tests.conftest import private_database


@dataclass(frozen=True)
class Marts:
    """The built marts: where they are, the data behind them, and dbt's run results."""

    url: str
    recent: RealisticData  # two London sites, the last 15 days up to today
    autumn_dst: RealisticData  # Auckland, around its 25-hour day (2024-04-07)
    spring_dst: RealisticData  # London, around its 23-hour day (2024-03-31)
    run_results: dict[str, Any]


@pytest.fixture(scope="package")
def dbt_database_url(database_url: str) -> Iterator[str]:
    """A migrated database for the marts (your own server's database when you gave one)."""
    with private_database("camcount_test_dbt") as url:
        yield url


@pytest.fixture(scope="package")
def marts(dbt_database_url: str) -> Marts:
    """Real Auckland counts replayed as three data sets, rolled up into hours and local days, then
    one full `dbt build`."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    with psycopg.connect(dbt_database_url) as conn:
        recent = insert_realistic_crossings(
            conn, sites=2, cameras_per_site=1, start=today - timedelta(days=14), days=15,
            timezone="Europe/London", prefix="dbt-now-", source_start=date(2024, 3, 4), scale=0.3,
        )
        autumn_dst = insert_realistic_crossings(
            conn, sites=1, cameras_per_site=2, start=date(2024, 3, 30), days=10,
            timezone="Pacific/Auckland", prefix="dbt-akl-", scale=0.3, seed=1,
        )
        spring_dst = insert_realistic_crossings(
            conn, sites=1, cameras_per_site=1, start=date(2024, 3, 29), days=4,
            timezone="Europe/London", prefix="dbt-ldn-", scale=0.3, seed=2,
        )
        for data in (recent, autumn_dst, spring_dst):
            for table in compute.HOURLY_SOURCES:
                compute.rollup_hours(conn, table, data.start_utc, data.end_utc)
            tz = ZoneInfo(data.timezone)
            first, last = data.start_utc.astimezone(tz).date(), data.end_utc.astimezone(tz).date()
            for table in compute.DAILY_SOURCES:
                compute.rollup_days(conn, table, first, last)
    with scratch_target() as target:
        dbt_resource().cli(["build"], target_path=target).wait()
        run_results = json.loads((target / "run_results.json").read_text())
    return Marts(dbt_database_url, recent, autumn_dst, spring_dst, run_results)


@pytest.fixture
def marts_conn(marts: Marts) -> Iterator[psycopg.Connection]:
    with psycopg.connect(marts.url, autocommit=True) as conn:
        yield conn

"""What every benchmark needs: a migrated database of its own, the sample clip, a table printer."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.settings import user_database_url

REPO = Path(__file__).resolve().parent.parent
SAMPLE_VIDEO = REPO / "data" / "vtest.avi"


def bench_database(name: str = "camcount_bench") -> str:
    """A fresh, migrated database on the embedded cluster (or the user's own database as given)."""
    url = user_database_url()
    if url is None:
        cluster = Cluster.default()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = cluster.url(name)
        os.environ["CAMCOUNT_DATABASE_URL"] = url
    migrate(url)
    return url


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """Rows of (figure, value, target/note), aligned."""
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print("-" * len(title))
    for figure, value, note in rows:
        print(f"{figure:<{width}}  {value:>14}  {note}")

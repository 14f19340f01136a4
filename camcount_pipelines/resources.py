"""Resources. Configuration comes from the environment only (CAMCOUNT_DATABASE_URL or the embedded
cluster, and the pipelines' own login: camcount_pipelines.role), so the same definitions run in
tests, the demo and production without secrets in code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg

from camcount_pipelines.role import connect


class TimescaleResource(dg.ConfigurableResource):
    """Connections to the camcount database as camcount_pipelines, resolved from the environment at use time."""

    @contextmanager
    def connection(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection as camcount_pipelines that commits on success and rolls back on error (unless autocommit)."""
        with connect(autocommit=autocommit) as conn:
            yield conn

"""Resources. Configuration comes from the environment only (CAMCOUNT_DATABASE_URL or the embedded
cluster, and the pipelines' own login: camcount_pipelines.role), so the same definitions run in
tests, the demo and production without secrets in code."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import dagster as dg
import psycopg

from camcount.db import error_reason
from camcount.errors import DatabaseUnavailable
from camcount_pipelines.role import connect

P = ParamSpec("P")
R = TypeVar("R")


def skip_while_database_unavailable(sensor: Callable[P, R]) -> Callable[P, R | dg.SkipReason]:
    """For sensors that keep their state in the database (watermark cursors, rules evaluated anew):
    a tick while the database is away (a restart) is skipped, saying why, not failed; the next one
    catches up. Run status sensors are not wrapped: skipping would lose the run they were given."""

    @functools.wraps(sensor)
    def tick(*args: P.args, **kwargs: P.kwargs) -> R | dg.SkipReason:
        try:
            return sensor(*args, **kwargs)
        except (DatabaseUnavailable, psycopg.OperationalError) as exc:
            return dg.SkipReason(f"database unavailable: {error_reason(exc)}")

    return tick


class TimescaleResource(dg.ConfigurableResource):
    """Connections to the camcount database as camcount_pipelines, resolved from the environment at use time."""

    @contextmanager
    def connection(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection as camcount_pipelines that commits on success and rolls back on error (unless autocommit)."""
        with connect(autocommit=autocommit) as conn:
            yield conn

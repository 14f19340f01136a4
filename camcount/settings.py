"""Where camcount keeps local state, read from the environment (the only source of secrets)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from camcount.errors import ConfigError

HOME_DIR_NAME = ".camcount"
DEFAULT_PARTITIONS_START = "2024-01-01"


def camcount_home() -> Path:
    """Embedded cluster, spool, archives, reports: the same home from any directory.

    `$CAMCOUNT_HOME` if set; else the nearest `.camcount` directory in the current directory or
    one of its ancestors (as git finds `.git`), so a command run from `docs/` finds the cluster
    that `make demo` started at the top; else `./.camcount`, created on first use.
    """
    if os.environ.get("CAMCOUNT_HOME"):
        return Path(os.environ["CAMCOUNT_HOME"]).resolve()
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / HOME_DIR_NAME).is_dir():
            return directory / HOME_DIR_NAME
    return here / HOME_DIR_NAME


def partitions_start() -> datetime:
    """The first instant the rollup partitions cover (`$CAMCOUNT_PARTITIONS_START`, a UTC date).

    Rows stamped earlier are stored but never reach a rollup, a mart or a report, so the worker
    refuses a file whose footage would start before it.
    """
    value = os.environ.get("CAMCOUNT_PARTITIONS_START") or DEFAULT_PARTITIONS_START
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"CAMCOUNT_PARTITIONS_START={value!r} is not a date; use YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def user_database_url() -> str | None:
    """The user's own TimescaleDB, if they gave one; then no embedded cluster is used."""
    return os.environ.get("CAMCOUNT_DATABASE_URL") or None

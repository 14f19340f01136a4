"""Where camcount keeps local state, read from the environment (the only source of secrets)."""

from __future__ import annotations

import os
from pathlib import Path


def camcount_home() -> Path:
    """`$CAMCOUNT_HOME` (default `./.camcount`): embedded cluster, spool, archives, reports."""
    return Path(os.environ.get("CAMCOUNT_HOME", ".camcount")).resolve()


def user_database_url() -> str | None:
    """The user's own TimescaleDB, if they gave one; then no embedded cluster is used."""
    return os.environ.get("CAMCOUNT_DATABASE_URL") or None

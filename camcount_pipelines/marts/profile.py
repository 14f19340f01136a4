"""dbt's connection profile from camcount's settings, without Dagster or the parsed manifest:
`scripts/build_dbt_manifest.sh` parses the project with exactly the environment dbt runs with
later (so runs reuse that parse), before any manifest exists."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from camcount.db.roles import PIPELINES_ROLE
from camcount_pipelines.role import pipelines_database_url

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def dbt_env() -> dict[str, str]:
    """What `dbt_project/profiles.yml` reads: the pipelines' database URL split into its parts,
    since a dbt profile cannot take a URL, and the role dbt builds as (camcount_pipelines, whatever
    the login: every view and table it creates belongs to the role that replaces it later); plus
    the profile location and telemetry off."""
    url = urlsplit(pipelines_database_url())
    query = {key: values[-1] for key, values in parse_qs(url.query).items()}
    user = unquote(url.username) if url.username else query.get("user", getpass.getuser())
    env = {
        "CAMCOUNT_DB_HOST": url.hostname or query.get("host", "127.0.0.1"),
        "CAMCOUNT_DB_PORT": str(url.port or query.get("port", 5432)),
        "CAMCOUNT_DB_USER": user,
        "CAMCOUNT_DB_PASSWORD": unquote(url.password) if url.password else query.get("password", ""),
        "CAMCOUNT_DB_NAME": unquote(url.path.lstrip("/")) or query.get("dbname", user),
        "CAMCOUNT_DB_ROLE": PIPELINES_ROLE,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if "sslmode" in query:
        env["CAMCOUNT_DB_SSLMODE"] = query["sslmode"]
    return env


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration: DbtCliResource hands dbt a copy of os.environ."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

"""dbt_env(): the profile's environment, split from the pipelines' database URL, building as
camcount_pipelines whatever the login."""

import pytest

from camcount_pipelines.marts.profile import dbt_env
from camcount_pipelines.role import PIPELINES_DATABASE_URL_ENV


def test_dbt_env_splits_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PIPELINES_DATABASE_URL_ENV, raising=False)
    monkeypatch.delenv("CAMCOUNT_PIPELINES_PASSWORD", raising=False)
    monkeypatch.setenv("CAMCOUNT_DATABASE_URL", "postgresql://bi%40ops:p%3Aw%2Fd@db.internal:6543/analytics?sslmode=require")
    env = dbt_env()
    assert {key: env[key] for key in env if key.startswith("CAMCOUNT_DB_")} == {
        "CAMCOUNT_DB_HOST": "db.internal",
        "CAMCOUNT_DB_PORT": "6543",
        "CAMCOUNT_DB_USER": "bi@ops",
        "CAMCOUNT_DB_PASSWORD": "p:w/d",
        "CAMCOUNT_DB_NAME": "analytics",
        "CAMCOUNT_DB_ROLE": "camcount_pipelines",
        "CAMCOUNT_DB_SSLMODE": "require",
    }
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"


def test_dbt_logs_in_as_camcount_pipelines_given_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PIPELINES_DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv("CAMCOUNT_DATABASE_URL", "postgresql://owner:secret@db.internal:6543/analytics")
    monkeypatch.setenv("CAMCOUNT_PIPELINES_PASSWORD", "pipes")
    env = dbt_env()
    assert (env["CAMCOUNT_DB_USER"], env["CAMCOUNT_DB_PASSWORD"], env["CAMCOUNT_DB_HOST"]) == (
        "camcount_pipelines", "pipes", "db.internal")

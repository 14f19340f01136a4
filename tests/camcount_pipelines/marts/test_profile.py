"""dbt_env(): the profile's environment, split from the camcount database URL."""

import pytest

from camcount_pipelines.marts.profile import dbt_env


def test_dbt_env_splits_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCOUNT_DATABASE_URL", "postgresql://bi%40ops:p%3Aw%2Fd@db.internal:6543/analytics?sslmode=require")
    env = dbt_env()
    assert {key: env[key] for key in env if key.startswith("CAMCOUNT_DB_")} == {
        "CAMCOUNT_DB_HOST": "db.internal",
        "CAMCOUNT_DB_PORT": "6543",
        "CAMCOUNT_DB_USER": "bi@ops",
        "CAMCOUNT_DB_PASSWORD": "p:w/d",
        "CAMCOUNT_DB_NAME": "analytics",
        "CAMCOUNT_DB_SSLMODE": "require",
    }
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"

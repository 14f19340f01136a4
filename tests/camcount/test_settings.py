"""Settings from the environment: camcount's home and the partitions' start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.harness.net import free_port
from camcount.errors import ConfigError
from camcount.settings import camcount_home, partitions_start
from tests.conftest import run_camcount


def test_home_is_found_the_same_way_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMCOUNT_HOME", raising=False)
    (tmp_path / "project" / ".camcount").mkdir(parents=True)
    deep = tmp_path / "project" / "docs" / "examples"
    deep.mkdir(parents=True)
    for cwd in (tmp_path / "project", deep):
        monkeypatch.chdir(cwd)
        assert camcount_home() == tmp_path / "project" / ".camcount"
    monkeypatch.chdir(tmp_path)  # no .camcount here or above: a new one in the current directory
    assert camcount_home() == tmp_path / ".camcount"
    monkeypatch.setenv("CAMCOUNT_HOME", "elsewhere")  # the variable wins, resolved against the cwd
    monkeypatch.chdir(deep)
    assert camcount_home() == deep / "elsewhere"


def test_db_status_finds_the_same_cluster_from_a_subdirectory(tmp_path: Path) -> None:
    """From another directory `db status` said "stopped" (and `db start` "port in use") while the
    cluster ran: each directory had its own ./.camcount."""
    (tmp_path / ".camcount").mkdir()
    (tmp_path / "docs" / "examples").mkdir(parents=True)
    env = {"CAMCOUNT_HOME": "", "CAMCOUNT_DATABASE_URL": "", "CAMCOUNT_DB_PORT": str(free_port())}
    data = tmp_path / ".camcount" / "db" / "data"
    for cwd in (tmp_path, tmp_path / "docs" / "examples"):
        result = run_camcount("db", "status", env=env, cwd=cwd)
        assert result.stdout.splitlines() == [f"embedded TimescaleDB ({data}): stopped"], result


def test_partitions_start_is_one_setting_with_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMCOUNT_PARTITIONS_START", raising=False)
    assert partitions_start() == datetime(2024, 1, 1, tzinfo=UTC)
    monkeypatch.setenv("CAMCOUNT_PARTITIONS_START", "2025-03-01")
    assert partitions_start() == datetime(2025, 3, 1, tzinfo=UTC)
    monkeypatch.setenv("CAMCOUNT_PARTITIONS_START", "March")
    with pytest.raises(ConfigError, match="CAMCOUNT_PARTITIONS_START='March'"):
        partitions_start()

"""Secrets come from the environment only and are masked wherever camcount writes: a worker run
against an unreachable database (logs, error lines, spool files), the `camcount db` commands,
and the alert webhook of camcount_pipelines.
(tests/security/test_worker_as_role.py scans a run whose database is reachable; tests/camcount/test_redact.py
covers each masking policy.)"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from camcount_pipelines.alerts import rules
from tests.conftest import run_camcount

DB_PASSWORD = f"dbpw-{secrets.token_hex(8)}"
CAMERA_PASSWORD = f"campw-{secrets.token_hex(8)}"
UNREACHABLE_DB = f"postgresql://camcount_worker:{DB_PASSWORD}@127.0.0.1:{free_port()}/camcount"


def test_worker_against_an_unreachable_database_masks_every_secret(tiny_clip: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "w.yaml", [
        camera("plaza", tiny_clip),
        camera("gate", f"rtsp://admin:${{CAM_PASSWORD}}@127.0.0.1:{free_port()}/live"),
    ], sources={"max_outage_s": 2, "backoff_initial_s": 0.2, "backoff_max_s": 0.5})
    result = run_camcount("worker", "run", "--config", str(config), timeout=60, env={
        "CAMCOUNT_DATABASE_URL": UNREACHABLE_DB, "CAMCOUNT_HOME": str(tmp_path / "home"),
        "CAM_PASSWORD": CAMERA_PASSWORD,
    })
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # the RTSP camera failed; the rest was kept safe in the spool
    spool = {path: path.read_text() for path in (tmp_path / "home" / "spool").rglob("*.jsonl")}
    assert spool and "source_failed" in "".join(spool.values())
    for where, text in {"stdout": result.stdout, "stderr": result.stderr, **spool}.items():
        assert DB_PASSWORD not in text and CAMERA_PASSWORD not in text, where
    assert "camcount_worker:***@127.0.0.1" in output  # the registry's warning names the server, masked
    assert "rtsp://admin:***@127.0.0.1" in output and "rtsp://admin:***@127.0.0.1" in "".join(spool.values())


@pytest.mark.parametrize("command", [["db", "url"], ["db", "url", "--dagster"], ["db", "status"], ["db", "migrate"]])
def test_db_commands_never_print_the_password(command: list[str]) -> None:
    result = run_camcount(*command, env={"CAMCOUNT_DATABASE_URL": UNREACHABLE_DB}, timeout=60)
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert "camcount_worker:***@127.0.0.1" in result.stdout + result.stderr


def test_db_url_prints_the_password_only_when_asked() -> None:
    result = run_camcount("db", "url", "--show-password", env={"CAMCOUNT_DATABASE_URL": UNREACHABLE_DB})
    assert result.stdout.strip() == UNREACHABLE_DB


def test_alert_webhook_url_is_never_logged(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The webhook's path and query usually carry its token; only scheme and host may be logged."""
    token = f"hook-{secrets.token_hex(8)}"
    monkeypatch.setenv(rules.WEBHOOK_ENV, f"http://127.0.0.1:{free_port()}/services/{token}?key={token}")
    change = rules.Transition("opened", 1, "camera_offline", "gate", "error", "gate: no health sample")
    with caplog.at_level(logging.WARNING):
        rules.notify([change])
    assert "alert webhook http://127.0.0.1/*** failed" in caplog.text
    assert token not in caplog.text

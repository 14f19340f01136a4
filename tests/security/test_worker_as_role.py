"""One real `camcount worker run` as camcount_worker, with secrets everywhere they can be given:
the database password in CAMCOUNT_DATABASE_URL, and camera credentials (user:password and a
token parameter, through `${VAR}` substitution) in unreachable RTSP and HTTP sources.

It proves the worker's whole sink path works with the worker role's grants alone, and that no
secret reaches anything the run produced: stdout, stderr, platform_events, stream_health,
ops.cameras, or files under CAMCOUNT_HOME (spool)."""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from psycopg import sql

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from camcount.db.roles import WORKER_ROLE
from tests.conftest import run_camcount
from tests.security.conftest import enable_login

CAMERA_PASSWORD = f"campw-{secrets.token_hex(8)}"
CAMERA_TOKEN = f"camtok-{secrets.token_hex(8)}"
# A day no other test writes: the worker's own inserts must create the chunks.
START_AT = "2025-06-11T09:00:00Z"


@dataclass(frozen=True)
class Run:
    result: subprocess.CompletedProcess
    database_password: str
    home: Path
    cameras: tuple[str, str, str]  # file, rtsp, http


@pytest.fixture(scope="module")
def run(database_url: str, tiny_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    suffix = secrets.token_hex(4)
    cameras = (f"file-{suffix}", f"rtsp-{suffix}", f"http-{suffix}")
    tmp = tmp_path_factory.mktemp("worker-as-role")
    with pytest.MonkeyPatch.context() as monkeypatch:
        url = enable_login(database_url, WORKER_ROLE, monkeypatch)
    config = write_config(tmp / "w.yaml", [
        camera(cameras[0], tiny_clip, start_at=START_AT),
        camera(cameras[1], f"rtsp://admin:${{CAM_PASSWORD}}@127.0.0.1:{free_port()}/live?token=${{CAM_TOKEN}}"),
        camera(cameras[2], f"http://viewer:${{CAM_PASSWORD}}@127.0.0.1:{free_port()}/video.mjpg"),
    ], sources={"max_outage_s": 2, "backoff_initial_s": 0.2, "backoff_max_s": 0.5})
    result = run_camcount("worker", "run", "--config", str(config), timeout=60, env={
        "CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(tmp / "home"),
        "CAM_PASSWORD": CAMERA_PASSWORD, "CAM_TOKEN": CAMERA_TOKEN,
    })
    return Run(result, unquote(urlsplit(url).password or ""), tmp / "home", cameras)


def test_worker_runs_its_whole_sink_path_as_camcount_worker(run: Run, db: psycopg.Connection) -> None:
    output = run.result.stdout + run.result.stderr
    # The unreachable cameras fail (exit 4, documented); the file camera is counted regardless.
    assert run.result.returncode == 4, output
    assert "database unavailable" not in output and "registry not updated" not in output, output
    assert not list((run.home / "spool").rglob("*.jsonl")), "every row must reach the database, none spooled"
    file_camera, rtsp_camera, _ = run.cameras
    for table in ("crossing_events", "zone_events", "zone_occupancy", "stream_health"):
        query = sql.SQL("SELECT count(*) FROM {} WHERE camera_id = %s").format(sql.Identifier("raw", table))
        rows = db.execute(query, (file_camera,)).fetchone()[0]
        assert rows > 0, table
    kinds = {kind for (kind,) in db.execute(
        "SELECT kind FROM raw.platform_events WHERE camera_id = %s", (rtsp_camera,))}
    assert {"source_down", "source_failed"} <= kinds
    registered = db.execute("SELECT count(*) FROM ops.cameras WHERE camera_id = ANY(%s)", (list(run.cameras),))
    assert registered.fetchone()[0] == 3


def test_no_secret_reaches_output_database_or_files(run: Run, db: psycopg.Connection) -> None:
    cameras = list(run.cameras)
    produced = {
        "stdout": run.result.stdout,
        "stderr": run.result.stderr,
        "raw.platform_events": dump(db, "SELECT e FROM raw.platform_events e WHERE camera_id = ANY(%s)", cameras),
        "raw.stream_health": dump(db, "SELECT h FROM raw.stream_health h WHERE camera_id = ANY(%s)", cameras),
        "ops.cameras": dump(db, "SELECT c FROM ops.cameras c WHERE camera_id = ANY(%s)", cameras),
        **{str(path): path.read_text(errors="replace") for path in run.home.rglob("*") if path.is_file()},
    }
    for secret in (CAMERA_PASSWORD, CAMERA_TOKEN, run.database_password):
        leaks = [where for where, text in produced.items() if secret in text]
        assert not leaks, f"secret found in {leaks}"
    # Masked, not merely absent: the events still say which source failed.
    assert "rtsp://admin:***@127.0.0.1" in produced["raw.platform_events"]
    assert "token=***" in produced["raw.platform_events"]
    assert "http://viewer:***@127.0.0.1" in produced["raw.platform_events"]


def dump(db: psycopg.Connection, query: str, cameras: list[str]) -> str:
    """Rows as JSON text (the database's own rendering of every column), for substring scans."""
    return "\n".join(json.dumps(row[0], default=str) for row in db.execute(query, (cameras,)))

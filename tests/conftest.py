"""Shared fixtures: a real TimescaleDB (embedded, or yours via CAMCOUNT_DATABASE_URL), migrated
once per session, and the sample clip.

With the embedded cluster, tests get their own database `camcount_test_<pid>`, dropped afterwards,
so a test run never touches demo data. With CAMCOUNT_DATABASE_URL set, tests run against that
database and never start the embedded cluster; tests isolate themselves by using unique camera ids.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.harness.net import free_port
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.settings import user_database_url

REPO = Path(__file__).resolve().parent.parent
SAMPLE_VIDEO = REPO / "data" / "vtest.avi"
# One database per pytest process, so concurrent runs on one machine never drop each other's.
TEST_DB = f"camcount_test_{os.getpid()}"

# The user's own database, read before the session fixture exports the test database's URL.
USER_DATABASE_URL = user_database_url()

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated camcount database; also exported as CAMCOUNT_DATABASE_URL for subprocesses."""
    if USER_DATABASE_URL:
        migrate()
        yield os.environ["CAMCOUNT_DATABASE_URL"]
        return
    cluster = Cluster.default()
    cluster.start()
    os.environ["CAMCOUNT_DATABASE_URL"] = cluster.recreate_database(TEST_DB)
    migrate()
    yield os.environ["CAMCOUNT_DATABASE_URL"]
    del os.environ["CAMCOUNT_DATABASE_URL"]
    cluster.drop_database(TEST_DB)


@pytest.fixture(scope="session")
def yolo_weights() -> str:
    """Real YOLOv8s weights whose class 0 ('Normal') is an upright person (AGPL: tests only)."""
    cache = REPO / ".camcount" / "test-models"
    done = subprocess.run(["scripts/fetch_test_weights.sh", str(cache)], cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"cannot fetch the test YOLO weights: {done.stderr.strip()[-300:]}")
    return str(cache / "yolov8s-upright-person.pt")


@contextlib.contextmanager
def private_database(name: str) -> Iterator[str]:
    """A fresh, migrated database of its own (your own database when you gave one), for tests
    whose tools act on every row of a database (dbt build and its tests): rows that other tests
    leave half-processed must not fail them."""
    if USER_DATABASE_URL:
        yield USER_DATABASE_URL
        return
    name = f"{name}_{os.getpid()}"
    url = Cluster.default().recreate_database(name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAMCOUNT_DATABASE_URL", url)
        migrate()
        yield url
    Cluster.default().drop_database(name)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def camera_id() -> str:
    """A camera id no other test uses, so tests can share one database."""
    return f"cam-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def sample_video() -> Path:
    assert SAMPLE_VIDEO.exists(), "run `make setup` to extract data/vtest.avi"
    return SAMPLE_VIDEO


@pytest.fixture(scope="session")
def scratch_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A second, private TimescaleDB cluster that tests may stop, restart and reconfigure."""
    cluster = Cluster(root=tmp_path_factory.mktemp("scratch") / "db", port=free_port())
    cluster.start()
    yield cluster
    cluster.stop()


def run_camcount(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = REPO
) -> subprocess.CompletedProcess:
    """Run the real `camcount` console script, as a user would (from `cwd`, by default the repository)."""
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "camcount"), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=cwd,
    )


@pytest.fixture(scope="session")
def short_clip(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 frames (30 s at 10 fps) of the sample clip, for runs at native rate."""
    return write_clip(sample_video, tmp_path_factory.mktemp("clips") / "vtest-30s.avi", 300)


def write_clip(sample_video: Path, path: Path, frames: int) -> Path:
    """The first `frames` frames of the sample clip as a 10 fps MJPEG AVI at `path`."""
    import cv2

    reader = cv2.VideoCapture(str(sample_video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for _ in range(frames):
        ok, image = reader.read()
        assert ok
        writer.write(image)
    writer.release()
    reader.release()
    return path

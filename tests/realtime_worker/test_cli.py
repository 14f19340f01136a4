"""The worker CLI as a user meets it: bad sources end with one clear line and a documented code."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from camcount.db.cluster import Cluster
from tests.conftest import run_camcount, write_clip


def assert_one_error_line(result, code: int, *needles: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_unreachable_stream_fails_after_retry_budget_with_masked_url(database_url: str, tmp_path: Path) -> None:
    url = f"rtsp://viewer:hunter2@127.0.0.1:{free_port()}/cam1"
    config = write_config(tmp_path / "w.yaml", [camera("unreachable", url)],
                          sources={"max_outage_s": 3, "backoff_initial_s": 0.2, "backoff_max_s": 1})
    result = run_camcount("worker", "run", "--config", str(config), env={"CAMCOUNT_HOME": str(tmp_path)})
    line = assert_one_error_line(result, 4, "unreachable", "rtsp://viewer:***@127.0.0.1")
    assert "hunter2" not in result.stdout + result.stderr, line


def test_corrupt_video_is_one_clear_error(database_url: str, tmp_path: Path) -> None:
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400)
    config = write_config(tmp_path / "w.yaml", [camera("broken", garbage)])
    result = run_camcount("worker", "run", "--config", str(config), env={"CAMCOUNT_HOME": str(tmp_path)})
    assert_one_error_line(result, 4, "broken", "broken.mp4")


def test_process_counts_a_file_with_a_summary(database_url: str, short_clip: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "w.yaml", [camera("offline", "unused.avi")])
    result = run_camcount("worker", "process", str(short_clip), "--config", str(config),
                          env={"CAMCOUNT_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "crossings counted" in result.stdout and "frames processed: offline: 300" in result.stdout


def test_snapshot_draws_geometry_and_detections(sample_video: Path, tmp_path: Path) -> None:
    import cv2

    config = write_config(tmp_path / "w.yaml", [camera("snap", sample_video)])
    out = tmp_path / "snap.png"
    result = run_camcount("worker", "snapshot", "--config", str(config), "--camera", "snap", "--out", str(out),
                          "--skip", "300")
    assert result.returncode == 0, result.stderr
    assert "frame 300" in result.stdout and "2 lines, 1 zones" in result.stdout
    image = cv2.imread(str(out))
    assert image.shape == (576, 768, 3)
    assert (image[200:260, 384] == (0, 0, 255)).all(axis=1).any()  # the red centre line is drawn


def assert_only_line(result, code: int, *needles: str) -> str:
    """Start-up failures: one line and nothing else (no traceback, no frame read, no summary)."""
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture
def tiny_config(tmp_path: Path, sample_video: Path) -> Callable[..., Path]:
    """A worker config over a 2 s clip, with overrides of any section."""
    clip = write_clip(sample_video, tmp_path / "tiny.avi", 20)
    return lambda **sections: write_config(tmp_path / "w.yaml", [camera("startup", clip)], **sections)


def test_worker_against_an_unmigrated_database_exits_3_before_any_frame(
    scratch_cluster: Cluster, tiny_config: Callable[..., Path], tmp_path: Path
) -> None:
    url = scratch_cluster.recreate_database("never_migrated")
    result = run_camcount("worker", "run", "--config", str(tiny_config()),
                          env={"CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(tmp_path / "home")})
    assert_only_line(result, 3, "database never_migrated has no camcount schema", "run `camcount db migrate`")
    assert not list((tmp_path / "home").rglob("*.jsonl")), "nothing may be spooled for a database never usable"


@pytest.fixture(scope="module")
def password_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster on which role `pwcheck` must give its password (embedded clusters trust loopback)."""
    cluster = Cluster(root=tmp_path_factory.mktemp("password") / "db", port=free_port())
    cluster.start()
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE ROLE pwcheck LOGIN PASSWORD 'right'")
    hba = cluster.data_dir / "pg_hba.conf"
    hba.write_text("host all pwcheck 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    cluster.stop()  # a restart, not a reload: the rule is in force once start() returns
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.parametrize("wrong", ["password", "database"])
def test_worker_with_a_wrong_password_or_database_exits_3_before_any_frame(
    wrong: str, password_cluster: Cluster, tiny_config: Callable[..., Path], tmp_path: Path
) -> None:
    role = "pwcheck"
    password, database = ("wrong", "postgres") if wrong == "password" else ("right", "no_such_db")
    url = f"postgresql://{role}:{password}@127.0.0.1:{password_cluster.port}/{database}"
    result = run_camcount("worker", "run", "--config", str(tiny_config()),
                          env={"CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(tmp_path / "home")})
    expected = (f'password authentication failed for user "{role}"' if wrong == "password"
                else 'database "no_such_db" does not exist')
    line = assert_only_line(result, 3, f"cannot connect to postgresql://{role}:***@127.0.0.1", expected,
                            "Check CAMCOUNT_DATABASE_URL")
    assert "wrong" not in line and "right" not in line
    assert not list((tmp_path / "home").rglob("*.jsonl")), "a misconfigured database must not be spooled for"


def test_busy_metrics_port_exits_2_naming_the_port_and_the_setting(
    database_url: str, tiny_config: Callable[..., Path], tmp_path: Path
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_camcount("worker", "run", "--config", str(tiny_config(health={"metrics_port": port})),
                              env={"CAMCOUNT_HOME": str(tmp_path / "home")})
    assert_only_line(result, 2, f"health.metrics_port: cannot serve /metrics on 127.0.0.1:{port}",
                     "Address already in use")


def test_unusable_spool_dir_exits_5(database_url: str, tiny_config: Callable[..., Path], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_camcount("worker", "run", "--config", str(tiny_config(sink={"spool_dir": str(blocker / "spool")})),
                          env={"CAMCOUNT_HOME": str(tmp_path / "home")})
    assert_only_line(result, 5, str(blocker / "spool"), "sink.spool_dir")


def test_a_directory_as_the_video_is_named_as_such_with_its_camera_once(
    database_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "w.yaml", [camera("dircam", tmp_path)])
    result = run_camcount("worker", "run", "--config", str(config), env={"CAMCOUNT_HOME": str(tmp_path / "home")})
    line = assert_one_error_line(result, 4)
    assert line == f"error: camera dircam: cannot open file source {tmp_path}: it is a directory; " \
                   "give the path of a video file in it", line

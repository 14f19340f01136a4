"""Bad config gets one clear error naming the file, the key path and the reason."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from camcount.errors import ConfigError
from realtime_worker.config import load_config
from tests.conftest import run_camcount

VALID = """
sites: [{id: campus, timezone: Europe/London}]
cameras:
  - id: cam1
    site: campus
    source: rtsp://viewer:${CAM_PASSWORD}@127.0.0.1:8554/cam1
    lines:
      - {id: door, points: [[0, 10], [100, 10]], sides: {left: north, right: south}, in: north}
    zones:
      - {id: lobby, polygon: [[0, 0], [50, 0], [50, 50], [0, 50]]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "worker.yaml"
    path.write_text(text)
    return path


def test_valid_config_substitutes_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PASSWORD", "p@ss")
    config = load_config(write(tmp_path, VALID))
    assert config.cameras[0].source.target == "rtsp://viewer:p@ss@127.0.0.1:8554/cam1"
    assert config.cameras[0].source.transport == "tcp"
    assert config.cameras[0].lines[0].in_side == "north"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("cameras:", "cameras: [oops"), "invalid YAML"),
        (lambda t: t.replace("[[0, 10], [100, 10]]", "[[5, 5], [5, 5]]"),
         "cameras[0].lines[0]: segment 0 has zero length"),
        (lambda t: t.replace("[[0, 0], [50, 0], [50, 50], [0, 50]]", "[[0, 0], [50, 50], [50, 0], [0, 50]]"),
         "cameras[0].zones[0]: zone polygon intersects itself"),
        (lambda t: t.replace("[[0, 10], [100, 10]]", "[[0, 0], [100, 100], [100, 0], [0, 100]]"),
         "cameras[0].lines[0]: the polyline crosses or touches itself"),
        (lambda t: t.replace("site: campus", "site: elsewhere"), "unknown site 'elsewhere'"),
        (lambda t: t.replace("in: north", "in: east"),
         "cameras[0].lines[0]: in side 'east' is not one of the side names"),
        (lambda t: t.replace("timezone: Europe/London", "timezone: Mars/Olympus"), "sites[0].timezone"),
        (lambda t: t + "detector: {backend: magic}\n", "detector.backend"),
        (lambda t: t, "cameras[0].source: environment variable CAM_PASSWORD is not set"),
        (lambda t: t.replace("    source: rtsp://viewer:${CAM_PASSWORD}@127.0.0.1:8554/cam1",
                             "    rtsp_transport: udp\n    source: data/x.avi"),
         "/data/x.avi: transport applies to rtsp:// sources only"),
        (lambda t: t.replace("in: north}", "in: north}\n      - {id: door, points: [[0, 20], [100, 20]]}"),
         "cameras[0]: duplicate line id 'door'"),
    ],
)
def test_bad_config_names_key_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mutate, expected: str
) -> None:
    if expected.startswith("cameras[0].source"):
        monkeypatch.delenv("CAM_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("CAM_PASSWORD", "x")
    path = write(tmp_path, mutate(VALID))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value).startswith(str(path)), excinfo.value
    assert expected in str(excinfo.value)


def test_cli_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("[[0, 10], [100, 10]]", "[[5, 5], [5, 5]]"))
    result = run_camcount("worker", "check-config", str(path), env={"CAM_PASSWORD": "x"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_cli_unknown_camera_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    result = run_camcount("worker", "run", "--config", str(path), "--camera", "nope", env={"CAM_PASSWORD": "x"})
    assert result.returncode == 2
    assert "unknown camera id 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_cli_check_config_ok(tmp_path: Path) -> None:
    result = run_camcount("worker", "check-config", "docs/examples/worker.yaml")
    assert result.returncode == 0, result.stderr
    assert "ok (1 sites, 1 cameras, 2 lines, 1 zones" in result.stdout


FILE_CAMERA = """
sites: [{id: campus}]
cameras:
  - id: cam1
    site: campus
    source: clip.avi
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    start_at: '2019-05-01T09:00:00Z'\n",
         "2019-05-01 09:00:00+00:00 is before the partitions' start 2024-01-01 (CAMCOUNT_PARTITIONS_START)"),
        ("    start_at: '2099-05-01T09:00:00Z'\n", "2099-05-01 09:00:00+00:00 is in the future"),
        ("    loop: true\n    start_at: '2025-05-01T09:00:00Z'\n",
         "live and looping sources are stamped by the capture clock"),
    ],
)
def test_start_at_outside_the_partitions_fails_check_config_and_run_naming_the_key(
    tmp_path: Path, extra: str, expected: str
) -> None:
    (tmp_path / "clip.avi").write_bytes(b"")
    path = write(tmp_path, FILE_CAMERA + extra)
    for command in (["worker", "check-config", str(path)], ["worker", "run", "--config", str(path)]):
        result = run_camcount(*command, env={"CAMCOUNT_HOME": str(tmp_path / "home")})
        assert result.returncode == 2, result.stdout + result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith(f"error: {path}: cameras[0].start_at: ") and expected in line, line


def test_a_file_modified_before_the_partitions_needs_a_start_at(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")
    os.utime(clip, (1_500_000_000, 1_500_000_000))  # July 2017
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.start_at: not set, so frame 0 is stamped with the file's "
                                          r"modification time 2017-07-14 02:40:00\+00:00, which is before"):
        load_config(write(tmp_path, FILE_CAMERA))
    config = load_config(write(tmp_path, FILE_CAMERA + "    start_at: '2025-05-01T09:00:00Z'\n"))
    assert config.cameras[0].frame0_at() == datetime(2025, 5, 1, 9, tzinfo=UTC)


def test_relative_paths_resolve_against_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "configs" / "worker.yaml"
    path.write_text(FILE_CAMERA.replace("clip.avi", "../clips/clip.avi") + "sink: {spool_dir: spool}\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config(Path("..") / "configs" / "worker.yaml")
    assert config.cameras[0].source.target == str(tmp_path / "clips" / "clip.avi")
    assert config.sink.spool_dir == tmp_path / "configs" / "spool"


def test_process_checks_the_videos_start_too(tmp_path: Path) -> None:
    video = tmp_path / "old.avi"
    video.write_bytes(b"")
    os.utime(video, (1_500_000_000, 1_500_000_000))
    path = write(tmp_path, FILE_CAMERA.replace("clip.avi", "unused.avi"))
    result = run_camcount("worker", "process", str(video), "--config", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {video} as camera cam1: start_at: not set, so frame 0 is stamped"), line

"""The worker CLI as a user meets it: bad sources end with one clear line and a documented code."""

from __future__ import annotations

from pathlib import Path

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from tests.conftest import run_camcount


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

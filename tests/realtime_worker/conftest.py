"""Reference counts shared by the worker tests: one uninterrupted file run per clip."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from bench.harness.worker_configs import camera, line_totals, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import run_worker

SHORT_REFERENCE_CAMERA = "short-ref"  # its rows are the reference for every raw table, not only crossings


def reference_run(clip: Path, camera_id: str, workdir: Path, database_url: str) -> Counter[tuple[str, str]]:
    path = write_config(workdir / "w.yaml", [camera(camera_id, clip)])
    summary = run_worker(load_config(path), database_url=database_url, home=workdir, camera_ids=None,
                         stop=threading.Event())
    return line_totals(summary, camera_id)


@pytest.fixture(scope="session")
def reference(database_url: str, sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Counter:
    """Crossings per (line, direction) of one single-camera run over the whole sample clip."""
    return reference_run(sample_video, "ref-alone", tmp_path_factory.mktemp("ref"), database_url)


@pytest.fixture(scope="session")
def short_reference(database_url: str, short_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Counter:
    """The same for the 30 s clip; it must hold crossings for the tests built on it to mean anything."""
    totals = reference_run(short_clip, SHORT_REFERENCE_CAMERA, tmp_path_factory.mktemp("short-ref"), database_url)
    assert sum(totals.values()) > 0
    return totals

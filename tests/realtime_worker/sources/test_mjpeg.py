"""Live MJPEG over HTTP, and what a live buffer does when its consumer falls behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.streams import MjpegServer
from realtime_worker.sources import CaptureThread, SourceKind


@pytest.fixture
def mjpeg(sample_video: Path) -> Iterator[MjpegServer]:
    with MjpegServer(sample_video) as server:
        yield server


def test_mjpeg_delivers_live_frames(mjpeg: MjpegServer) -> None:
    with CaptureThread("door", mjpeg.url) as capture:
        assert capture.source.kind is SourceKind.HTTP
        frames = [capture.get(timeout=10) for _ in range(15)]
    assert all(frame is not None for frame in frames)
    assert {frame.image.shape for frame in frames} == {(576, 768, 3)}
    rate = 14 / (frames[-1].captured_at - frames[0].captured_at)
    assert 3 < rate < 30  # the server sends 10 fps


def test_live_buffer_keeps_the_newest_frames(mjpeg: MjpegServer) -> None:
    with CaptureThread("door", mjpeg.url, buffer_size=2) as capture:
        assert capture.get(timeout=10) is not None
        time.sleep(1.5)  # the consumer falls ~15 frames behind
        taken_at = time.time()
        stale = capture.stats()
        newest = [capture.get(timeout=5), capture.get(timeout=5)]
    assert stale.queue_depth == 2 and stale.frames_dropped >= 5
    assert all(frame is not None and taken_at - frame.captured_at < 0.5 for frame in newest)

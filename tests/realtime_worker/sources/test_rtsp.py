"""Live RTSP from a real server (GStreamer's gst-rtsp-server) over TCP and UDP."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.streams import RtspServer, rtsp_server_available
from realtime_worker.sources import CaptureThread, parse_source
from realtime_worker.sources.open import _OptionsGate, rtsp_options

needs_rtsp = pytest.mark.skipif(not rtsp_server_available(), reason="needs GStreamer's RTSP server (make setup)")


@pytest.fixture(scope="module")
def rtsp(sample_video: Path) -> Iterator[RtspServer]:
    with RtspServer(sample_video) as server:
        yield server


@needs_rtsp
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_delivers_live_frames(rtsp: RtspServer, transport: str) -> None:
    with CaptureThread("gate", parse_source(rtsp.url, transport)) as capture:
        frames = [capture.get(timeout=15) for _ in range(25)]
        stats = capture.stats()
    assert all(frame is not None for frame in frames)
    assert {frame.image.shape for frame in frames} == {(576, 768, 3)}
    assert [frame.index for frame in frames] == list(range(25))
    assert abs(frames[-1].captured_at - time.time()) < 5  # wall clock, not stream position
    # FFmpeg hands over the frames it buffered while probing in one burst; after that the
    # stream's own 10 fps shows.
    rate = 9 / (frames[-1].captured_at - frames[-10].captured_at)
    assert 3 < rate < 30
    assert stats.connected and stats.frames_captured >= 25 and stats.reconnects == 0


@needs_rtsp
def test_unreachable_camera_does_not_hold_up_other_opens(sample_video: Path) -> None:
    """OpenCV serialises opens by default: a camera that never answers would block them all."""
    with socket.socket() as blackhole:  # accepts connections, never answers
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen()
        dead_url = f"rtsp://127.0.0.1:{blackhole.getsockname()[1]}/cam"
        with CaptureThread("dead", dead_url, open_timeout_s=4, max_attempts=1) as dead:
            time.sleep(0.3)  # the dead camera's open is under way
            began = time.monotonic()
            with CaptureThread("file", str(sample_video)) as capture:
                assert capture.get(timeout=10) is not None
                opened_in = time.monotonic() - began
            assert not dead.finished  # still waiting for its open to time out
    assert opened_in < 2.0


def test_options_gate_runs_same_options_together_and_others_in_turn() -> None:
    """The RTSP transport travels in a process-wide variable that OpenCV reads during open()."""
    before = os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS")
    gate = _OptionsGate()
    spans: dict[str, tuple[float, float, str]] = {}  # job -> (entered, left, variable seen)

    def open_with(job: str, options: str) -> None:
        with gate.holding(options):
            entered = time.monotonic()
            time.sleep(0.2)  # an open in progress
            spans[job] = (entered, time.monotonic(), os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"])

    threads = [threading.Thread(target=open_with, args=(job, rtsp_options(job[:3]))) for job in ("tcp1", "tcp2", "udp")]
    for thread in threads:
        thread.start()
        time.sleep(0.02)  # queue in this order
    for thread in threads:
        thread.join()

    assert all(f"rtsp_transport;{job[:3]}" in seen for job, (_, _, seen) in spans.items())
    assert spans["tcp2"][0] < spans["tcp1"][1]  # same options: opened together
    assert spans["udp"][0] >= max(spans["tcp1"][1], spans["tcp2"][1])  # other options: waited
    assert os.environ.get("OPENCV_FFMPEG_CAPTURE_OPTIONS") == before

"""Live sources ride out outages: reconnect with backoff, give up per budget, never leak passwords."""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.harness import REPO
from bench.harness.net import free_port
from bench.harness.streams import EventLog, RtspServer, rtsp_server_available
from camcount.errors import ConfigError, SourceError
from realtime_worker.sources import CaptureThread, SourceEvent, SourceKind, backoff_delay, parse_source

needs_rtsp = pytest.mark.skipif(not rtsp_server_available(), reason="needs GStreamer's RTSP server (make setup)")


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("data/vtest.avi", SourceKind.FILE, "data/vtest.avi"),
        ("file:///srv/clips/gate%201.mp4", SourceKind.FILE, "/srv/clips/gate 1.mp4"),
        ("rtsp://u:p@cam/s", SourceKind.RTSP, "rtsp://u:p@cam/s"),
        ("https://cam/video.mjpg", SourceKind.HTTP, "https://cam/video.mjpg"),
        ("webcam:1", SourceKind.WEBCAM, 1),
        ("0", SourceKind.WEBCAM, 0),
        (2, SourceKind.WEBCAM, 2),
    ],
)
def test_parse_source_kinds(url: str | int, kind: SourceKind, target: str | int) -> None:
    source = parse_source(url)
    assert (source.kind, source.target, source.live) == (kind, target, kind is not SourceKind.FILE)


def test_parse_source_rejects_bad_specs() -> None:
    assert parse_source("rtsp://cam/s").transport == "tcp"
    assert parse_source("rtsp://cam/s", "udp").transport == "udp"
    for url, transport in [("rtsp://cam/s", "quic"), ("data/vtest.avi", "tcp"), ("rtmp://u:pw@cam/live", None)]:
        with pytest.raises(ConfigError) as raised:
            parse_source(url, transport)
        assert "pw@" not in str(raised.value)


def test_backoff_has_full_jitter_under_an_exponential_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (4, 4.0), (7, 30.0), (5_000, 30.0)]:
        delays = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(500)]
        assert 0 <= min(delays) < 0.1 * ceiling  # full jitter reaches down to zero...
        assert 0.9 * ceiling < max(delays) <= ceiling  # ...and up to the ceiling


@pytest.mark.parametrize("budget", [{"max_attempts": 3}, {"max_outage_s": 1.0}])
def test_unreachable_camera_fails_after_its_budget(
    budget: dict, events: EventLog, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/cam"  # nothing listens there
    caplog.set_level(logging.INFO, logger="realtime_worker.sources")
    began = time.monotonic()
    capture = CaptureThread("gate", url, backoff_initial_s=0.05, backoff_max_s=0.2, on_event=events, **budget).start()
    assert list(capture) == []
    assert time.monotonic() - began < 10

    assert isinstance(capture.error, SourceError)
    message = str(capture.error)
    assert "gate" in message and "rtsp://admin:***@127.0.0.1" in message and "giving up" in message
    assert events.kinds()[0] == SourceEvent.DOWN and events.kinds()[-1] == SourceEvent.FAILED
    if "max_attempts" in budget:
        assert "3 failed attempt(s)" in message
    everything = message + repr(events.events) + caplog.text
    assert "hunter2" not in everything


def test_max_outage_is_honoured_within_one_backoff_step() -> None:
    """A camera whose connects time out: the outage counts from the first attempt, and neither a
    wait nor a connect runs past the budget (it used to give up after 15 s + two connect timeouts)."""
    with socket.socket() as black_hole:  # accepts connections (the kernel's backlog), never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        url = f"rtsp://127.0.0.1:{black_hole.getsockname()[1]}/cam"
        began = time.monotonic()
        capture = CaptureThread("gate", url, open_timeout_s=2, max_outage_s=3, backoff_initial_s=0.5,
                                backoff_max_s=1).start()
        assert list(capture) == []
        elapsed = time.monotonic() - began
    assert isinstance(capture.error, SourceError) and "giving up" in str(capture.error)
    assert 3 <= elapsed < 3 + 1 + 0.5, elapsed  # the budget, one backoff step, scheduling slack


def test_ffmpeg_log_is_quiet_unless_asked_for() -> None:
    """FFmpeg's own `[tcp @ 0x...] Connection ... refused` line came on every reconnect attempt."""
    script = ("from realtime_worker.sources import CaptureThread\n"
              f"list(CaptureThread('gate', 'rtsp://127.0.0.1:{free_port()}/cam', max_attempts=2,"
              " backoff_initial_s=0.05).start())\n")

    def output(loglevel: str | None) -> str:
        env = {key: value for key, value in os.environ.items() if key != "OPENCV_FFMPEG_LOGLEVEL"}
        env.update(PYTHONPATH=str(REPO), **({"OPENCV_FFMPEG_LOGLEVEL": loglevel} if loglevel else {}))
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
        return done.stdout + done.stderr

    ffmpeg_says = "Connection to tcp://127.0.0.1"
    assert ffmpeg_says not in output(None)
    assert ffmpeg_says in output("16")  # FFmpeg's errors, asked for


def test_a_failing_event_callback_does_not_stop_the_camera() -> None:
    def broken_sink(*_: object) -> None:
        raise RuntimeError("database down")

    capture = CaptureThread(
        "gate", f"rtsp://127.0.0.1:{free_port()}/cam", backoff_initial_s=0.05, max_attempts=3, on_event=broken_sink
    ).start()
    assert list(capture) == []
    assert isinstance(capture.error, SourceError) and "3 failed attempt(s)" in str(capture.error)


@needs_rtsp
@pytest.mark.fault
def test_rtsp_server_restart_reconnects_within_seconds(sample_video: Path, events: EventLog) -> None:
    with RtspServer(sample_video) as server:
        capture = CaptureThread(
            "gate", server.url, backoff_initial_s=0.2, backoff_max_s=1.0, stall_timeout_s=3, on_event=events
        ).start()
        try:
            before = capture.get(timeout=15)
            assert before is not None
            server.stop()
            events.wait_for(SourceEvent.DOWN, timeout=5)
            time.sleep(2)  # the outage: reconnect attempts fail meanwhile
            back_at = time.time()
            server.start()
            recovered = events.wait_for(SourceEvent.RECOVERED, timeout=10)
            after = capture.get(timeout=5)
        finally:
            capture.stop()

    reconnect_s = recovered.at - back_at
    print(f"reconnected {reconnect_s:.2f} s after the RTSP server came back")
    assert reconnect_s < 5
    assert events.kinds()[:2] == [SourceEvent.DOWN, SourceEvent.RECOVERED]
    assert recovered.details["attempts"] >= 1
    assert after is not None and after.index > before.index
    assert capture.stats().reconnects == 1 and capture.error is None


@needs_rtsp
@pytest.mark.fault
def test_stalled_stream_is_dropped_and_reconnected(sample_video: Path, events: EventLog) -> None:
    """A hung camera keeps its connection open but sends nothing: only the stall timeout notices."""
    with RtspServer(sample_video) as server:
        capture = CaptureThread(
            "gate",
            server.url,
            open_timeout_s=2,
            stall_timeout_s=1.5,
            backoff_initial_s=0.2,
            backoff_max_s=0.5,
            on_event=events,
        ).start()
        try:
            assert capture.get(timeout=15) is not None
            server.pause()
            frozen_at = time.time()
            down = events.wait_for(SourceEvent.DOWN, timeout=10)
            server.resume()
            events.wait_for(SourceEvent.RECOVERED, timeout=15)
        finally:
            server.resume()
            capture.stop()

    assert "stalled" in down.details["reason"]
    assert 1.0 < down.at - frozen_at < 6  # noticed after about stall_timeout_s, not OpenCV's multiple of it

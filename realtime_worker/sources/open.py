"""Open a `Source` with OpenCV, with timeouts, without letting one camera hold up the others.

Three process-wide quirks of OpenCV's FFmpeg backend shape this module:

* By default OpenCV holds one global mutex for the whole of `VideoCapture.open()`, so a single
  unreachable camera blocks every other camera's (re)connect for its full open timeout. FFmpeg
  itself has been thread-safe since 4.0, so `OPENCV_FFMPEG_IS_THREAD_SAFE=1` is set (unless the
  operator chose otherwise) to drop that lock. OpenCV then logs one warning line per open, so its
  log level is raised to errors unless the operator set OPENCV_LOG_LEVEL.
* The RTSP transport can only be chosen through the `OPENCV_FFMPEG_CAPTURE_OPTIONS` environment
  variable, which OpenCV reads during each open. `_OptionsGate` sets it around RTSP opens only,
  lets opens that need the same value run together, and makes opens that need a different one
  wait their turn (FIFO), so a TCP camera never connects with a UDP camera's options.
* FFmpeg logs to stderr itself (`[tcp @ 0x...] Connection ... failed`), on every reconnect
  attempt, what the camera's one-line SourceError already says. Its log is off unless the
  operator sets OPENCV_FFMPEG_LOGLEVEL (FFmpeg's levels: 16 errors, 24 warnings, 32 info).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from camcount.errors import SourceError
from realtime_worker.sources.url import Source, SourceKind

os.environ.setdefault("OPENCV_FFMPEG_IS_THREAD_SAFE", "1")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read at OpenCV's first FFmpeg open
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

_OPTIONS_VAR = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
_OPERATOR_OPTIONS = os.environ.get(_OPTIONS_VAR)
# What OpenCV applies when the variable is unset; setting it would otherwise lose them (the
# 1 MB buffer matters for UDP: a 1080p key frame overflows the default socket buffer).
_OPENCV_DEFAULT_OPTIONS = "buffer_size;1024000|max_delay;500000"
# FFmpeg waits for 20 frames to guess the frame rate before open() returns: 2 s on a 10 fps
# camera, all of it added to every reconnect. The rate is measured from arrivals instead.
_FAST_PROBE = "fpsprobesize;2"

# FFmpeg's tty demuxer "plays" any .txt file as frames of rendered text, with this codec.
_TEXT_AS_VIDEO = "ansi"

# Live decoding on one thread: no frame-threading delay (each extra thread adds a frame of
# latency and one more read timeout before a stall is noticed), CPU time per frame is measurable,
# and dozens of cameras do not each spawn a thread per core.
_LIVE_DECODE_THREADS = 1


def rtsp_options(transport: str) -> str:
    """The FFmpeg options string for an RTSP open; the operator's own options override ours."""
    base = _OPERATOR_OPTIONS if _OPERATOR_OPTIONS is not None else _OPENCV_DEFAULT_OPTIONS
    return f"{_FAST_PROBE}|{base}|rtsp_transport;{transport}"


class _OptionsGate:
    """Holds the process-wide options variable at one value while opens that need it run."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: str | None = None
        self._holders = 0
        self._queue: deque[object] = deque()

    @contextmanager
    def holding(self, value: str) -> Iterator[None]:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            self._cond.wait_for(lambda: self._queue[0] is ticket and (self._holders == 0 or self._value == value))
            self._queue.popleft()
            self._value = value
            self._holders += 1
            os.environ[_OPTIONS_VAR] = value
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                if self._holders == 0:
                    _restore_operator_options()
                self._cond.notify_all()


def _restore_operator_options() -> None:
    if _OPERATOR_OPTIONS is None:
        os.environ.pop(_OPTIONS_VAR, None)
    else:
        os.environ[_OPTIONS_VAR] = _OPERATOR_OPTIONS


_gate = _OptionsGate()


def open_capture(source: Source, open_timeout_s: float, read_timeout_s: float) -> cv2.VideoCapture:
    """An opened capture, or SourceError with a one-line reason that names the (masked) source.

    The timeouts bound network sources only: OpenCV aborts a connect after `open_timeout_s` and
    a read that gets no data for `read_timeout_s`. Files and webcams ignore them.
    """
    if source.kind is SourceKind.FILE:
        _require_readable_file(source)
    if source.kind is SourceKind.WEBCAM:
        cap = cv2.VideoCapture(int(source.target))
    elif source.kind is SourceKind.FILE:
        cap = cv2.VideoCapture(str(source.target), cv2.CAP_FFMPEG)
    else:
        settings = {
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC: round(open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC: round(read_timeout_s * 1000),
            cv2.CAP_PROP_N_THREADS: _LIVE_DECODE_THREADS,
        }
        params = [number for pair in settings.items() for number in pair]  # OpenCV's flat key, value list
        if source.kind is SourceKind.RTSP:
            with _gate.holding(rtsp_options(str(source.transport))):
                cap = cv2.VideoCapture(str(source.target), cv2.CAP_FFMPEG, params)
        else:
            cap = cv2.VideoCapture(str(source.target), cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"cannot open {source.label}: {_open_failure_hint(source)}")
    if source.kind is SourceKind.FILE and _fourcc(cap) == _TEXT_AS_VIDEO:
        cap.release()
        raise SourceError(f"cannot open {source.label}: it is a text file, not a video")
    return cap


def _require_readable_file(source: Source) -> None:
    path = str(source.target)
    if os.path.isdir(path):
        raise SourceError(f"cannot open {source.label}: it is a directory; give the path of a video file in it")
    if not os.path.exists(path):
        raise SourceError(f"cannot open {source.label}: no such file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot open {source.label}: permission denied; make it readable by this user")


def _fourcc(cap: cv2.VideoCapture) -> str:
    return int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1")


def _open_failure_hint(source: Source) -> str:
    if source.kind is SourceKind.FILE:
        return "not a video file FFmpeg can read, or it is truncated before its first frame"
    if source.kind is SourceKind.WEBCAM:
        return "no such device, or it is busy"
    return "unreachable, refused, timed out, or not a video stream"

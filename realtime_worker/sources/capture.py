"""One capture thread per camera: decode into a small buffer, ride out outages, report them.

OpenCV's blocking calls release the GIL, so one thread per camera costs little while waiting
and keeps a slow or dead camera from delaying the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from enum import StrEnum
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from camcount.errors import SourceError
from realtime_worker.sources.open import open_capture
from realtime_worker.sources.retry import backoff_delay
from realtime_worker.sources.stats import SourceStats, StatsRecorder
from realtime_worker.sources.url import Source, parse_source
from realtime_worker.types import Frame, PlatformEvent, Severity

log = logging.getLogger(__name__)

EventCallback = Callable[[PlatformEvent], None]
"""on_event(event): called from the capture thread, so keep it quick."""

# One corrupt-frame event per camera per minute at most (later ones are summed into the next):
# a damaged stream must not flood platform_events for months.
_CORRUPT_REPORT_INTERVAL_S = 60.0
# Used when a file declares no frame rate, which FFmpeg itself assumes for raw streams.
_FALLBACK_FILE_FPS = 25.0
# The shortest connect timeout an attempt gets when the outage budget is nearly spent.
_MIN_OPEN_TIMEOUT_S = 1.0


class SourceEvent(StrEnum):
    DOWN = "source_down"
    RECOVERED = "source_recovered"
    FAILED = "source_failed"  # the retry budget is spent, or a file cannot be read at all
    FRAME_CORRUPT = "frame_corrupt"

    @property
    def severity(self) -> Severity:
        """A camera that is down is an error; a skipped frame a warning; a recovery news."""
        return {
            SourceEvent.DOWN: Severity.ERROR, SourceEvent.FAILED: Severity.ERROR,
            SourceEvent.FRAME_CORRUPT: Severity.WARNING, SourceEvent.RECOVERED: Severity.INFO,
        }[self]


class CaptureThread:
    """Reads one camera on a daemon thread into a bounded buffer of `Frame`s.

    Live sources (RTSP, HTTP, webcams) keep the newest `buffer_size` frames, dropping the oldest
    when the consumer falls behind, and are timestamped by the wall clock. After a failure, or
    `stall_timeout_s` without a frame, they reconnect with exponential backoff and full jitter
    (`backoff_initial_s` doubling up to `backoff_max_s`) until frames flow again, or until
    `max_attempts` failed connects or `max_outage_s` of outage (None: forever) end the thread
    with a SourceError. `Frame.index` keeps counting across reconnects, so it never repeats.

    Files lose nothing (the thread waits for room), play as fast as decoding allows or, with
    `realtime`, at their own frame rate, and are timestamped `start_at + index / fps` where
    `index` is the frame's position in the file: frames lost inside a damaged file leave a gap
    (and are reported) instead of shifting later frames. `start_at` defaults to when the file
    is first opened. With `loop` the file starts again at its end, the index keeps rising, and
    frames are stamped by the wall clock as they are decoded, like a live camera's: a loop plays
    forever, so stamps from its position would run ahead of the clock when played fast.

    The thread ends when a file is done, when `stop()` is called, or with `error` set when the
    source cannot be read; `finished` turns True once the buffer is also drained.
    """

    def __init__(
        self,
        camera_id: str,
        source: Source | str | int,
        *,
        realtime: bool = False,
        loop: bool = False,
        start_at: float | None = None,
        buffer_size: int = 8,
        open_timeout_s: float = 10.0,
        stall_timeout_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_attempts: int | None = None,
        max_outage_s: float | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self.camera_id = camera_id
        self.source = source if isinstance(source, Source) else parse_source(source)
        self._realtime = realtime
        self._loop = loop
        self._start_at = start_at
        self._buffer_size = buffer_size
        self._open_timeout_s = open_timeout_s
        self._stall_timeout_s = stall_timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_attempts = max_attempts
        self._max_outage_s = max_outage_s
        self._on_event = on_event

        self._buffer: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._ended = False
        self._error: Exception | None = None
        self._stats = StatsRecorder(camera_id)
        self._next_index = 0  # live sources only
        self._down_at: float | None = None  # monotonic start of the current outage
        self._attempts = 0  # failed connects in the current outage
        self._corrupt_pending = 0
        self._corrupt_reason = ""
        self._corrupt_reported_at = float("-inf")
        self._thread = threading.Thread(target=self._run, name=f"capture-{camera_id}", daemon=True)

    # -- consumer side -----------------------------------------------------------------------

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def __enter__(self) -> CaptureThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest buffered frame; None after `timeout` seconds, or once `finished`."""
        with self._cond:
            self._cond.wait_for(lambda: self._buffer or self._ended, timeout)
            if not self._buffer:
                return None
            frame = self._buffer.popleft()
            self._cond.notify_all()  # a file's reader may be waiting for room
            return frame

    def __iter__(self) -> Iterator[Frame]:
        """Every frame until the thread ends; check `error` afterwards."""
        while (frame := self.get()) is not None:
            yield frame

    @property
    def finished(self) -> bool:
        """The thread has ended and every frame it captured has been taken."""
        with self._cond:
            return self._ended and not self._buffer

    @property
    def error(self) -> Exception | None:
        """Why the thread ended early: a SourceError for the user, anything else is a bug."""
        return self._error

    def stats(self) -> SourceStats:
        with self._cond:
            depth = len(self._buffer)
        return self._stats.snapshot(depth)

    def stop(self, timeout: float | None = None) -> bool:
        """End the thread and wait for it; True if it ended within `timeout`.

        OpenCV calls cannot be interrupted, so the thread may first finish a connect or a read:
        the default timeout covers the longest of those.
        """
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.ident is None:
            return True
        self._thread.join(max(self._open_timeout_s, self._stall_timeout_s) + 2 if timeout is None else timeout)
        return not self._thread.is_alive()

    # -- capture thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.source.live:
                self._run_live()
            else:
                self._run_file()
        except SourceError as exc:
            self._error = exc
            self._emit(SourceEvent.FAILED, str(exc))
        except Exception as exc:  # a bug: hand it to the runner instead of dying unnoticed
            log.exception("camera %s: capture thread crashed", self.camera_id)
            self._error = exc
        finally:
            self._report_corrupt()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _run_file(self) -> None:
        start_at = time.time() if self._start_at is None else self._start_at
        paced_from = time.monotonic()
        first = 0
        while not self._stopping.is_set():
            try:
                cap = open_capture(self.source, self._open_timeout_s, self._stall_timeout_s)
            except SourceError as exc:
                raise SourceError(f"camera {self.camera_id}: {exc}") from None
            try:
                first = self._play_file(cap, first, start_at, paced_from)
            finally:
                cap.release()
            if not self._loop:
                return

    def _play_file(self, cap: cv2.VideoCapture, first: int, start_at: float, paced_from: float) -> int:
        """Play one pass of the file as frames `first`, `first + 1`, ...; returns the next index."""
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not 0 < fps < 1000:
            log.warning(
                "camera %s: %s declares no frame rate, assuming %g fps",
                self.camera_id,
                self.source.label,
                _FALLBACK_FILE_FPS,
            )
            fps = _FALLBACK_FILE_FPS
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        bitrate = cap.get(cv2.CAP_PROP_BITRATE)
        with self._stats.lock:
            self._stats.bitrate_kbps = bitrate if bitrate > 0 else None
        last = -1  # position in this pass
        while not self._stopping.is_set():
            began = time.perf_counter()
            if not cap.grab():
                break
            image = _retrieve(cap)
            decode_s = time.perf_counter() - began
            # The position comes from the frame's timestamp, so frames lost inside a damaged file
            # leave a gap instead of shifting every later frame earlier in time.
            position = max(last + 1, round(cap.get(cv2.CAP_PROP_POS_MSEC) * fps / 1000))
            if position > last + 1:
                self._corrupt(position - last - 1, "gap in the file's timestamps")
            last = position
            if image is None:
                self._corrupt(1, "undecodable frame")
                continue
            index = first + position
            if self._realtime:
                self._stopping.wait(paced_from + index / fps - time.monotonic())
            captured_at = time.time() if self._loop else start_at + index / fps
            self._deliver(index, captured_at, image, time.monotonic(), decode_s)
        if self._stopping.is_set():
            return first + last + 1
        if last < 0:
            raise SourceError(f"camera {self.camera_id}: {self.source.label} has no decodable video frame")
        if declared > last + 1:
            self._corrupt(
                declared - last - 1,
                f"file ends after {last + 1} of the {declared} frames its header declares (truncated?)",
            )
        return first + last + 1

    def _run_live(self) -> None:
        """Connect, read, and after a failure retry until frames flow or the budget is spent.

        The outage starts at the last frame (or at the first failed attempt), and neither a
        backoff wait nor a connect timeout reaches past `max_outage_s`: the camera gives up
        within about one backoff step of its budget, whatever its connect timeout.
        """
        while not self._stopping.is_set():
            began = time.monotonic()
            reason, last_frame_at = self._connect_and_read(self._open_timeout(began))
            if self._stopping.is_set():
                return
            if self._down_at is None:
                self._down_at = began if last_frame_at is None else last_frame_at
                self._attempts = 0
                self._stats.down(time.time())
                self._emit(SourceEvent.DOWN, f"camera {self.camera_id}: {reason}", reason=reason)
            if last_frame_at is None:
                self._attempts += 1
            outage_s = time.monotonic() - self._down_at
            if self._budget_spent(outage_s):
                raise SourceError(
                    f"camera {self.camera_id}: {self.source.label} still down after {self._attempts}"
                    f" failed attempt(s) over {outage_s:.0f} s, giving up"
                )
            delay = backoff_delay(self._attempts + 1, self._backoff_initial_s, self._backoff_max_s)
            self._stopping.wait(min(delay, self._budget_left(time.monotonic())))

    def _budget_spent(self, outage_s: float) -> bool:
        return (self._max_attempts is not None and self._attempts >= self._max_attempts) or (
            self._max_outage_s is not None and outage_s >= self._max_outage_s
        )

    def _budget_left(self, now: float) -> float:
        """Seconds of outage left before giving up (infinite without `max_outage_s` or outage)."""
        if self._max_outage_s is None or self._down_at is None:
            return float("inf")
        return self._max_outage_s - (now - self._down_at)

    def _open_timeout(self, now: float) -> float:
        """The connect timeout of an attempt starting `now`: never past the budget, but at least
        a second (OpenCV reads 0 as "no timeout")."""
        return max(_MIN_OPEN_TIMEOUT_S, min(self._open_timeout_s, self._budget_left(now)))

    def _connect_and_read(self, open_timeout_s: float) -> tuple[str, float | None]:
        """Connect and read until the stream fails: (why it failed, monotonic time of its last
        frame, None if none came)."""
        try:
            cap = open_capture(self.source, open_timeout_s, self._stall_timeout_s)
        except SourceError as exc:
            return str(exc), None
        try:
            return self._read_live(cap)
        finally:
            cap.release()

    def _read_live(self, cap: cv2.VideoCapture) -> tuple[str, float | None]:
        last_frame_at: float | None = None
        last_frame = time.monotonic()
        while not self._stopping.is_set():
            cpu = time.thread_time()
            grabbed = cap.grab()
            arrival, wall = time.monotonic(), time.time()
            # OpenCV's read timeout can take several multiples of itself to fire, and frames
            # drained from the decoder after it fired are stale: the gap is what counts.
            if arrival - last_frame > self._stall_timeout_s:
                return f"{self.source.label} stalled: no frame for {arrival - last_frame:.1f} s", last_frame_at
            if not grabbed:
                return f"{self.source.label}: stream ended or could not be read", last_frame_at
            image = _retrieve(cap)
            if image is None:
                self._corrupt(1, "undecodable frame")
                continue
            last_frame = last_frame_at = arrival
            if self._down_at is not None:
                self._recovered(self._down_at)
            self._deliver(self._next_index, wall, image, arrival, time.thread_time() - cpu)
            self._next_index += 1
        return "", last_frame_at

    def _recovered(self, down_at: float) -> None:
        downtime = time.monotonic() - down_at
        self._stats.add(reconnects=1)
        self._emit(
            SourceEvent.RECOVERED,
            f"camera {self.camera_id}: {self.source.label} recovered after {downtime:.1f} s"
            f" ({self._attempts} failed attempt(s))",
            downtime_s=round(downtime, 3),
            attempts=self._attempts,
        )
        self._down_at = None

    def _deliver(self, index: int, captured_at: float, image: np.ndarray, arrival: float, decode_s: float) -> None:
        """Record and buffer a frame that arrived at monotonic time `arrival`.

        Live sources make room by dropping the oldest frame; files wait for room (or `stop()`).
        """
        received_at = time.time()
        self._stats.frame(arrival, received_at, decode_s)
        frame = Frame(self.camera_id, index, captured_at, image, received_at, decode_s * 1000)
        with self._cond:
            if self.source.live:
                if len(self._buffer) >= self._buffer_size:
                    self._buffer.popleft()
                    self._stats.add(dropped=1)
            else:
                self._cond.wait_for(lambda: len(self._buffer) < self._buffer_size or self._stopping.is_set())
                if self._stopping.is_set():
                    return
            self._buffer.append(frame)
            self._cond.notify_all()

    def _corrupt(self, count: int, reason: str) -> None:
        self._stats.add(corrupt=count)
        self._corrupt_pending += count
        self._corrupt_reason = reason
        if time.monotonic() - self._corrupt_reported_at >= _CORRUPT_REPORT_INTERVAL_S:
            self._report_corrupt()

    def _report_corrupt(self) -> None:
        if not self._corrupt_pending:
            return
        self._emit(
            SourceEvent.FRAME_CORRUPT,
            f"camera {self.camera_id}: skipped {self._corrupt_pending} frame(s) of {self.source.label}:"
            f" {self._corrupt_reason}",
            skipped=self._corrupt_pending,
            reason=self._corrupt_reason,
        )
        self._corrupt_pending = 0
        self._corrupt_reported_at = time.monotonic()

    def _emit(self, kind: SourceEvent, message: str, **details: Any) -> None:
        log.log(logging.INFO if kind is SourceEvent.RECOVERED else logging.WARNING, "%s", message)
        if self._on_event is None:
            return
        try:
            self._on_event(PlatformEvent(kind=kind.value, severity=kind.severity, message=message,
                                         camera_id=self.camera_id, details={"source": self.source.masked, **details}))
        except Exception:  # the event sink's failure must not stop the camera
            log.exception("camera %s: on_event callback failed for %s", self.camera_id, kind.value)


def _retrieve(cap: cv2.VideoCapture) -> np.ndarray | None:
    """The grabbed frame as BGR, or None if it cannot be decoded or converted."""
    try:
        ok, image = cap.retrieve()
    except cv2.error:
        return None
    return image if ok and image is not None and image.size else None

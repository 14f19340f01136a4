"""Per-camera capture figures that the health module reads while the capture thread writes them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

# Smoothing of the running means: 1/16 as in RTP's interarrival jitter (RFC 3550 §6.4.1), so a
# single late frame moves the figure a little and a lasting change moves it within ~2 s at 25 fps.
_GAIN = 1 / 16


@dataclass(frozen=True, slots=True)
class SourceStats:
    """A consistent snapshot of one camera's capture.

    Bytes read are not available: OpenCV does not expose FFmpeg's byte counters, and raw-packet
    mode would turn off decoding. `bitrate_kbps` is the container's own figure where FFmpeg has
    one (files), else None (RTSP, MJPEG, webcams).
    """

    camera_id: str
    connected: bool  # frames are flowing (False before the first frame and during outages)
    frames_captured: int  # decoded frames, including those later dropped
    frames_dropped: int  # live only: overwritten in the buffer because the consumer fell behind
    frames_corrupt: int  # undecodable frames, and frames missing from a damaged file
    reconnects: int  # outages recovered from
    queue_depth: int
    fps: float  # measured arrival rate; 0 until two frames have arrived
    jitter_ms: float  # mean absolute deviation of inter-frame arrival intervals from their mean
    decode_ms: float  # per frame: wall time for files, thread CPU time for live sources
    bitrate_kbps: float | None
    last_frame_at: float | None  # POSIX seconds
    down_since: float | None  # POSIX seconds the current outage started; None while healthy


class StatsRecorder:
    """The mutable counters behind `SourceStats`, updated by the capture thread under one lock."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.lock = threading.Lock()
        self.connected = False
        self.frames_captured = 0
        self.frames_dropped = 0
        self.frames_corrupt = 0
        self.reconnects = 0
        self.bitrate_kbps: float | None = None
        self.last_frame_at: float | None = None
        self.down_since: float | None = None
        self._interval_s = 0.0
        self._jitter_s = 0.0
        self._decode_s = 0.0
        self._last_arrival: float | None = None  # monotonic

    def frame(self, arrival: float, wall: float, decode_s: float) -> None:
        """Record one decoded frame that arrived at monotonic time `arrival`."""
        with self.lock:
            self.frames_captured += 1
            self.connected = True
            self.down_since = None
            self.last_frame_at = wall
            self._decode_s = decode_s if self.frames_captured == 1 else _smooth(self._decode_s, decode_s)
            if self._last_arrival is not None:
                interval = arrival - self._last_arrival
                if self._interval_s == 0.0:
                    self._interval_s = interval
                self._jitter_s = _smooth(self._jitter_s, abs(interval - self._interval_s))
                self._interval_s = _smooth(self._interval_s, interval)
            self._last_arrival = arrival

    def add(self, *, dropped: int = 0, corrupt: int = 0, reconnects: int = 0) -> None:
        with self.lock:
            self.frames_dropped += dropped
            self.frames_corrupt += corrupt
            self.reconnects += reconnects

    def down(self, since: float) -> None:
        """Mark an outage that started at POSIX time `since`, and forget the last arrival.

        The outage's gap must not count as an interval. The burst of frames FFmpeg buffered while
        reconnecting still shows as a brief jitter spike: those frames really did arrive together.
        """
        with self.lock:
            self.connected = False
            self.down_since = since
            self._last_arrival = None

    def snapshot(self, queue_depth: int) -> SourceStats:
        with self.lock:
            return SourceStats(
                camera_id=self.camera_id,
                connected=self.connected,
                frames_captured=self.frames_captured,
                frames_dropped=self.frames_dropped,
                frames_corrupt=self.frames_corrupt,
                reconnects=self.reconnects,
                queue_depth=queue_depth,
                fps=1.0 / self._interval_s if self._interval_s > 0 else 0.0,
                jitter_ms=self._jitter_s * 1000,
                decode_ms=self._decode_s * 1000,
                bitrate_kbps=self.bitrate_kbps,
                last_frame_at=self.last_frame_at,
                down_since=self.down_since,
            )


def _smooth(mean: float, sample: float) -> float:
    return mean + (sample - mean) * _GAIN

"""Per-camera stream health, sampled every `interval_s` into `raw.stream_health`.

Quality score (0-1), the product of four factors, each in [0, 1]:

    quality = delivery * completeness * latency * connectivity

    delivery     = min(1, processed_fps / input_fps)    the worker keeps up with the camera
    completeness = 1 - dropped / (processed + dropped)  frames lost to a full buffer
    latency      = 1 at e2e p95 <= 1 s, falling linearly to 0 at 5 s
    connectivity = 0 with no frame in the window, else 1 / (1 + reconnects in the window)

A healthy camera scores 1; a camera that is down scores 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from realtime_worker.sources.stats import SourceStats
from realtime_worker.types import HealthSample


@dataclass
class _Window:
    """Per-frame figures of the frames processed since the last sample."""

    decode_ms: list[float] = field(default_factory=list)
    inference_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)


class HealthTracker:
    """One camera's health between samples: per-frame latencies plus the capture's counters."""

    def __init__(self, camera_id: str, interval_s: float = 10.0) -> None:
        self.camera_id = camera_id
        self.interval_s = interval_s
        self._window = _Window()
        self._window_start = time.time()
        self._previous: SourceStats | None = None  # capture counters are cumulative: diff them

    def due(self, now: float) -> bool:
        return now - self._window_start >= self.interval_s

    def on_processed(self, *, decode_ms: float | None, inference_ms: float, e2e_ms: float) -> None:
        if decode_ms is not None:
            self._window.decode_ms.append(decode_ms)
        self._window.inference_ms.append(inference_ms)
        self._window.e2e_ms.append(e2e_ms)

    def only_cut_short(self, capture: SourceStats) -> bool:
        """Whether a stop now would close a window with nothing to score: the camera is up but no
        frame was processed since the last sample. Sampling it would score 0 ("no frame") and
        report a healthy camera as down at every stop, so the worker writes no such last sample."""
        return capture.connected and not self._window.e2e_ms

    def sample(self, now: float, capture: SourceStats, sink_backlog: int | None = None) -> HealthSample:
        """Close the current window into one sample and start the next; `sink_backlog` is the
        worker's (the sink is shared by its cameras)."""
        window, self._window = self._window, _Window()
        elapsed = max(now - self._window_start, 1e-6)
        self._window_start = now
        previous, self._previous = self._previous, capture
        captured = capture.frames_captured - (previous.frames_captured if previous else 0)
        dropped = capture.frames_dropped - (previous.frames_dropped if previous else 0)
        reconnects = capture.reconnects - (previous.reconnects if previous else 0)
        processed = len(window.e2e_ms)
        input_fps, processed_fps = captured / elapsed, processed / elapsed
        decode = _percentiles(window.decode_ms)
        inference = _percentiles(window.inference_ms)
        e2e = _percentiles(window.e2e_ms)
        return HealthSample(
            camera_id=self.camera_id,
            at=now,
            input_fps=round(input_fps, 3),
            processed_fps=round(processed_fps, 3),
            dropped_frames=dropped,
            decode_ms_p50=decode[0], decode_ms_p95=decode[1],
            inference_ms_p50=inference[0], inference_ms_p95=inference[1],
            e2e_ms_p50=e2e[0], e2e_ms_p95=e2e[1],
            bitrate_kbps=capture.bitrate_kbps,
            jitter_ms=round(capture.jitter_ms, 2) if capture.frames_captured > 2 else None,
            reconnects=reconnects,
            queue_depth=capture.queue_depth,
            quality=quality_score(input_fps=input_fps, processed_fps=processed_fps, processed=processed,
                                  dropped=dropped, e2e_ms_p95=e2e[1], reconnects=reconnects),
            sink_backlog=sink_backlog,
        )


def quality_score(
    *, input_fps: float, processed_fps: float, processed: int, dropped: int,
    e2e_ms_p95: float | None, reconnects: int,
) -> float:
    """The documented 0-1 score (module docstring)."""
    if processed == 0 and input_fps == 0:
        return 0.0
    delivery = min(1.0, processed_fps / input_fps) if input_fps > 0 else 0.0
    completeness = 1 - dropped / (processed + dropped) if processed + dropped else 0.0
    latency = 1.0 if e2e_ms_p95 is None else float(np.clip((5000 - e2e_ms_p95) / 4000, 0, 1))
    connectivity = 1 / (1 + reconnects)
    return round(delivery * completeness * latency * connectivity, 4)


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.percentile(values, [50, 95])
    return round(float(p50), 2), round(float(p95), 2)

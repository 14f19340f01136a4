"""Assembly: build one camera's pipeline from its config, and nothing else.

A camera is a capture thread, a detector (shared by every camera unless the backend is
stateful), its own tracker, its own counters and its own health window. `runner.py` only moves
frames through what is built here, so the loop never needs to read the config.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass

from realtime_worker.config import CameraConfig, DetectorConfig, SourceRetryConfig, TrackerConfig, WorkerConfig
from realtime_worker.count import CameraCounter, LineCounter, ZoneCounter
from realtime_worker.count.geometry import as_points
from realtime_worker.detect import Detector, detector_scale, load_detector
from realtime_worker.detect.tiling import CameraTiling, TilingSpec, parse_region
from realtime_worker.health import HealthTracker
from realtime_worker.sink.rows import event_id
from realtime_worker.sources import CaptureThread, EventCallback
from realtime_worker.track import ByteTracker


@dataclass
class CameraPipeline:
    """Everything that belongs to one camera, and nothing that another camera could touch."""

    config: CameraConfig
    capture: CaptureThread
    detector: Detector  # shared by every camera, except for per-camera (stateful) backends
    tiling: CameraTiling  # where in its frames the detector looks
    tracker: ByteTracker
    counter: CameraCounter
    health: HealthTracker
    track_run_id: str  # part of every event id: the same footage from the same start gives the same ids
    last_at: float = 0.0  # capture time of the last frame counted
    done: bool = False


def build_camera(
    camera: CameraConfig, config: WorkerConfig, *, detector: Detector, on_event: EventCallback
) -> CameraPipeline:
    """Start the camera's capture thread and build its tracker, counters and health window."""
    start_at, run_id = _identity(camera)
    return CameraPipeline(
        config=camera,
        capture=start_capture(camera, config.sources, start_at=start_at, on_event=on_event),
        detector=detector,
        tiling=build_tiling(camera, config),
        tracker=build_tracker(config.tracker),
        counter=build_counter(camera),
        health=HealthTracker(camera.id, config.health.interval_s),
        track_run_id=run_id,
    )


def build_detector(settings: DetectorConfig) -> Detector:
    return load_detector(
        settings.backend, weights=settings.weights, device=settings.device, classes=settings.classes,
        confidence=settings.confidence, imgsz=settings.imgsz, class_aliases=settings.class_aliases,
    )


def build_tracker(settings: TrackerConfig) -> ByteTracker:
    return ByteTracker(
        high_threshold=settings.high_threshold, low_threshold=settings.low_threshold,
        new_track_threshold=settings.new_track_threshold, match_iou=settings.match_iou,
        lost_track_buffer_s=settings.lost_track_buffer_s,
    )


def build_tiling(camera: CameraConfig, config: WorkerConfig) -> CameraTiling:
    """The camera's region and tiles as configured; resolved per frame size at its first frame."""
    shapes = [(line.points, line.anchor) for line in camera.lines]
    shapes += [(zone.polygon, zone.anchor) for zone in camera.zones]
    return CameraTiling(TilingSpec(
        key=f"cameras[{config.cameras.index(camera)}]", region=parse_region(camera.region),
        tiles=config.detector.tiles, person_height=camera.person_height_px,
        shapes=tuple((as_points(points), anchor) for points, anchor in shapes),
        scale=detector_scale(config.detector.backend, config.detector.imgsz),
    ))


def build_counter(camera: CameraConfig) -> CameraCounter:
    return CameraCounter(
        camera.id,
        lines=[LineCounter(camera.id, line.id, line.points, in_side=line.in_side, sides=line.sides,
                           anchor=line.anchor, hysteresis_px=line.hysteresis_px) for line in camera.lines],
        zones=[ZoneCounter(camera.id, zone.id, zone.polygon, anchor=zone.anchor) for zone in camera.zones],
    )


def start_capture(
    camera: CameraConfig, retry: SourceRetryConfig | None = None, *, start_at: float | None = None,
    on_event: EventCallback | None = None,
) -> CaptureThread:
    """The camera's capture thread, started (the snapshot command uses it with default retries)."""
    retry = retry or SourceRetryConfig()
    return CaptureThread(
        camera.id, camera.source,
        realtime=camera.playback == "native", loop=camera.loop, start_at=start_at,
        buffer_size=retry.buffer_frames, stall_timeout_s=retry.stall_timeout_s,
        backoff_initial_s=retry.backoff_initial_s, backoff_max_s=retry.backoff_max_s,
        max_outage_s=retry.max_outage_s, on_event=on_event,
    ).start()


def _identity(camera: CameraConfig) -> tuple[float | None, str]:
    """When the camera's frame 0 was captured (None: by the capture clock), and the track run id
    its events carry.

    Live and looping sources are new footage every run: a random run id. A file replayed from
    the same start gives the same run id, hence the same event ids, so a rerun inserts nothing.
    """
    if camera.capture_clock:
        return None, str(uuid.uuid4())
    frame0 = camera.frame0_at()
    start_at = frame0.timestamp() if frame0 else time.time()  # a missing file fails to open: its stamp is moot
    return start_at, event_id(camera.id, os.path.abspath(str(camera.source.target)), start_at)

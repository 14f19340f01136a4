"""Wires the stages: sources -> detect (batched across cameras) -> track -> count -> sink.

One capture thread per camera fills a bounded buffer; this loop takes at most one frame per
camera, detects them in ONE batched call, then tracks and counts each frame with that camera's
own tracker and counters (no state is shared between cameras), and hands rows to the sink.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from camcount.db import connect
from camcount.errors import DatabaseError, SourceError
from realtime_worker.config import CameraConfig, WorkerConfig
from realtime_worker.count import CameraCounter, CountUpdate, LineCounter, ZoneCounter
from realtime_worker.detect import PER_CAMERA_BACKENDS, Detector, load_detector
from realtime_worker.health import HealthTracker
from realtime_worker.metrics import WorkerMetrics
from realtime_worker.registry import register_cameras
from realtime_worker.sink import EventSink
from realtime_worker.sink.rows import TableRow, crossing_row, event_id, occupancy_row, zone_event_row
from realtime_worker.sources import CaptureThread, parse_source
from realtime_worker.track import ByteTracker
from realtime_worker.types import Detections, Frame

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run counted: the CLI prints it, tests compare it with the database."""

    frames: Counter[str] = field(default_factory=Counter)  # per camera
    crossings: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # camera, line, direction, class
    zone_entries: Counter[tuple[str, str]] = field(default_factory=Counter)  # camera, zone
    zone_exits: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed_cameras: dict[str, str] = field(default_factory=dict)  # camera -> error message
    spooled_rows: int = 0
    dropped_rows: int = 0


@dataclass
class _Camera:
    """Everything that belongs to one camera, and nothing that another camera could touch."""

    config: CameraConfig
    capture: CaptureThread
    detector: Detector  # shared by every camera, except for per-camera (stateful) backends
    tracker: ByteTracker
    counter: CameraCounter
    health: HealthTracker
    track_run_id: str
    last_at: float = 0.0
    done: bool = False


class Worker:
    def __init__(
        self,
        config: WorkerConfig,
        *,
        database_url: str,
        home: Path,
        camera_ids: list[str] | None = None,
        on_frames: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.database_url = database_url
        self.cameras_config = [config.camera(cid) for cid in camera_ids] if camera_ids else list(config.cameras)
        per_camera = config.detector.backend in PER_CAMERA_BACKENDS
        self._shared_detector = None if per_camera else build_detector(config)
        self.on_frames = on_frames
        self.sink = EventSink(
            database_url, config.sink.spool_dir or home / "spool",
            flush_interval_s=config.sink.flush_interval_s, batch_rows=config.sink.batch_rows,
            spool_quota_bytes=int(config.sink.spool_quota_mb * 1e6), retry_interval_s=config.sink.retry_interval_s,
        )
        self.metrics = WorkerMetrics()
        self.metrics_port: int | None = None
        self.summary = RunSummary()
        self._registered = False
        self._events: list[TableRow] = []  # platform events raised on capture threads
        self._events_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> RunSummary:
        """Run until every (file) source ends or `stop` is set; always flushes before returning."""
        self._register()
        self.sink.start()
        if self.config.health.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.config.health.metrics_host, self.config.health.metrics_port)
        cameras = [self._start_camera(cfg) for cfg in self.cameras_config]
        try:
            self._loop(cameras, stop)
        finally:
            self._shutdown(cameras)
        return self.summary

    def _start_camera(self, cfg: CameraConfig) -> _Camera:
        source = parse_source(cfg.source)
        start_at = cfg.start_at.timestamp() if cfg.start_at else None
        if source.live or cfg.loop:
            run_id = str(uuid.uuid4())  # live: every run is new footage
        else:
            # A file replayed from the same start gives the same ids, so re-runs insert nothing.
            if start_at is None:
                start_at = os.stat(source.target).st_mtime if os.path.exists(source.target) else time.time()
            run_id = event_id(cfg.id, os.path.abspath(source.target), start_at)
        health = HealthTracker(cfg.id, self.config.health.interval_s)
        capture = self._open_capture(cfg, start_at)
        tracker_cfg = self.config.tracker
        return _Camera(
            config=cfg,
            capture=capture,
            detector=self._shared_detector or build_detector(self.config),
            tracker=ByteTracker(
                high_threshold=tracker_cfg.high_threshold, low_threshold=tracker_cfg.low_threshold,
                new_track_threshold=tracker_cfg.new_track_threshold, match_iou=tracker_cfg.match_iou,
                lost_track_buffer=tracker_cfg.lost_track_buffer,
            ),
            counter=CameraCounter(
                cfg.id,
                lines=[LineCounter(cfg.id, line.id, line.points, in_side=line.in_side, sides=line.sides,
                                   anchor=line.anchor, hysteresis_px=line.hysteresis_px) for line in cfg.lines],
                zones=[ZoneCounter(cfg.id, zone.id, zone.polygon, anchor=zone.anchor) for zone in cfg.zones],
            ),
            health=health,
            track_run_id=run_id,
        )

    def _open_capture(self, cfg: CameraConfig, start_at: float | None) -> CaptureThread:
        retry = self.config.sources
        transport = cfg.rtsp_transport if cfg.source.lower().startswith("rtsp") else None
        return CaptureThread(
            cfg.id, parse_source(cfg.source, transport),
            realtime=cfg.playback == "native", loop=cfg.loop, start_at=start_at,
            buffer_size=retry.buffer_frames, stall_timeout_s=retry.stall_timeout_s,
            backoff_initial_s=retry.backoff_initial_s, backoff_max_s=retry.backoff_max_s,
            max_outage_s=retry.max_outage_s, on_event=self._on_source_event,
        ).start()

    def _shutdown(self, cameras: list[_Camera]) -> None:
        for camera in cameras:
            camera.capture.stop()
            if camera.last_at:
                self._emit(camera, camera.counter.flush(camera.last_at))
            self._sample_health(camera, time.time())
        self._drain_events()
        self.sink.close()
        self.metrics.stop()
        self.summary.spooled_rows = self.sink.spooled_rows
        self.summary.dropped_rows = self.sink.dropped_rows

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self, cameras: list[_Camera], stop: threading.Event) -> None:
        while not stop.is_set():
            active = [camera for camera in cameras if not camera.done]
            if not active:
                return
            # 1. Gather at most one frame per camera (a live camera may have none yet).
            batch: list[tuple[_Camera, Frame]] = []
            for camera in active:
                frame = camera.capture.get(timeout=0.02 if len(batch) else 0.1)
                if frame is not None:
                    batch.append((camera, frame))
                elif camera.capture.finished:
                    self._finish_camera(camera)
            if batch:
                self._process(batch)
                if self.on_frames:
                    self.on_frames(len(batch))
            # 2. Housekeeping: health samples, platform events, registry retry.
            now = time.time()
            for camera in active:
                if camera.health.due(now):
                    self._sample_health(camera, now)
            self._drain_events()

    def _process(self, batch: list[tuple[_Camera, Frame]]) -> None:
        # Detect: one forward pass per detector, i.e. every camera's frame at once when shared.
        by_detector: dict[int, list[tuple[_Camera, Frame]]] = defaultdict(list)
        for camera, frame in batch:
            by_detector[id(camera.detector)].append((camera, frame))
        for group in by_detector.values():
            started = time.perf_counter()
            detections = group[0][0].detector.detect([frame.image for _, frame in group])
            self._track_and_count(group, detections, (time.perf_counter() - started) * 1000)

    def _track_and_count(
        self, group: list[tuple[_Camera, Frame]], detections: list[Detections], inference_ms: float
    ) -> None:
        for (camera, frame), dets in zip(group, detections, strict=True):
            # Track and count with this camera's own state only.
            tracks = camera.tracker.update(dets)
            self._emit(camera, camera.counter.update(tracks, frame.captured_at))
            camera.last_at = frame.captured_at
            self.summary.frames[camera.config.id] += 1
            e2e_ms = (time.time() - (frame.received_at or frame.captured_at)) * 1000
            camera.health.on_processed(decode_ms=frame.decode_ms, inference_ms=inference_ms, e2e_ms=e2e_ms)

    def _emit(self, camera: _Camera, update: CountUpdate) -> None:
        run_id = camera.track_run_id
        rows = [crossing_row(event, run_id) for event in update.crossings]
        rows += [zone_event_row(event, run_id) for event in update.zone_events]
        rows += [occupancy_row(sample) for sample in update.occupancy]
        self.sink.put(rows)
        for event in update.crossings:
            key = (event.camera_id, event.line_id, str(event.direction), event.class_name)
            self.summary.crossings[key] += 1
            self.metrics.crossings.labels(*key).inc()
        for event in update.zone_events:
            tally = self.summary.zone_entries if event.transition == "enter" else self.summary.zone_exits
            tally[(event.camera_id, event.zone_id)] += 1

    def _finish_camera(self, camera: _Camera) -> None:
        camera.done = True
        if camera.capture.error is not None:
            self.summary.failed_cameras[camera.config.id] = str(camera.capture.error)
            log.error("camera %s stopped: %s", camera.config.id, camera.capture.error)

    def _sample_health(self, camera: _Camera, now: float) -> None:
        sample = camera.health.sample(now, camera.capture.stats())
        self.sink.put([sample.row()])
        self.metrics.record_health(sample)
        self.metrics.spool_segments.set(self.sink.spool_segments)
        self.metrics.spool_dropped_rows.set(self.sink.dropped_rows)
        self.metrics.database_up.set(1 if self.sink.database_up else 0)
        if not self._registered:
            self._register()

    # -- platform events and registry ---------------------------------------------------------

    def _on_source_event(self, kind: str, camera_id: str, message: str, details: dict) -> None:
        """Called on capture threads: queue the event; the loop hands it to the sink."""
        severity = "error" if kind in ("source_failed", "source_down") else "info"
        if kind == "frame_corrupt":
            severity = "warning"
        now = time.time()
        row = TableRow("platform_events", (
            now, str(uuid.uuid4()), kind, severity, camera_id, message, details,
        ))
        with self._events_lock:
            self._events.append(row)

    def _drain_events(self) -> None:
        with self._events_lock:
            rows, self._events = self._events, []
        self.sink.put(rows)

    def _register(self) -> None:
        """Upsert sites and cameras (geometry, no credentials); retried while the database is down."""
        try:
            with connect(self.database_url, timeout_s=3) as conn:
                register_cameras(conn, self.config, self.cameras_config)
            self._registered = True
        except DatabaseError as exc:
            log.warning("camera registry not updated yet (%s); events are spooled meanwhile", exc)


def build_detector(config: WorkerConfig) -> Detector:
    settings = config.detector
    return load_detector(
        settings.backend, weights=settings.weights, device=settings.device, classes=settings.classes,
        confidence=settings.confidence, imgsz=settings.imgsz, class_aliases=settings.class_aliases,
    )


def run_worker(
    config: WorkerConfig, *, database_url: str, home: Path, camera_ids: list[str] | None, stop: threading.Event,
    on_frames: Callable[[int], None] | None = None,
) -> RunSummary:
    """Build a worker and run it; raises SourceError if every camera failed."""
    worker = Worker(config, database_url=database_url, home=home, camera_ids=camera_ids, on_frames=on_frames)
    summary = worker.run(stop)
    if summary.failed_cameras and len(summary.failed_cameras) == len(worker.cameras_config):
        raise SourceError("; ".join(f"camera {cid}: {msg}" for cid, msg in summary.failed_cameras.items()))
    return summary


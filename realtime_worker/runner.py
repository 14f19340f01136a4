"""The loop: sources -> detect (batched across cameras) -> track -> count -> sink.

Each camera's capture thread fills a bounded buffer (`assembly.py` builds the cameras). This
loop takes at most one frame per camera, detects them in batched calls of at most
`detector.max_batch` frames, then tracks and counts each frame with that camera's own tracker
and counters (no state is shared between cameras), and hands the rows to the sink.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psycopg

from camcount.db import connect, error_reason
from camcount.db.schema import require_schema
from camcount.errors import DatabaseError, DatabaseUnavailable, SourceError
from camcount.redact import redact_dsn
from realtime_worker.assembly import CameraPipeline, build_camera, build_detector
from realtime_worker.clock import ClockWatch
from realtime_worker.config import CameraConfig, WorkerConfig
from realtime_worker.count import CountUpdate
from realtime_worker.detect import PER_CAMERA_BACKENDS, Detector
from realtime_worker.detect.tiling import TilePlan, run_tiled
from realtime_worker.metrics import WorkerMetrics
from realtime_worker.mqtt import MqttPublisher
from realtime_worker.registry import register_cameras
from realtime_worker.sink import EventSink, SinkStats
from realtime_worker.sink.rows import (
    TableRow,
    crossing_row,
    health_row,
    occupancy_row,
    platform_event_row,
    zone_event_row,
)
from realtime_worker.sink.spool import worker_spool_dir
from realtime_worker.snapshots import SnapshotWriter
from realtime_worker.types import Frame, PlatformEvent, Severity

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What a run counted: the CLI prints it, tests compare it with the database."""

    frames: Counter[str] = field(default_factory=Counter)  # per camera
    crossings: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # camera, line, direction, class
    zone_entries: Counter[tuple[str, str]] = field(default_factory=Counter)  # camera, zone
    zone_exits: Counter[tuple[str, str]] = field(default_factory=Counter)
    detector_batches: Counter[int] = field(default_factory=Counter)  # images (tiles) per detector call -> calls
    detection: dict[str, str] = field(default_factory=dict)  # camera -> detector, region and tiles in use
    failed_cameras: dict[str, str] = field(default_factory=dict)  # camera -> error message
    sink: SinkStats = field(default_factory=SinkStats)  # where the rows went: written, spooled, kept aside


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
        self.on_frames = on_frames
        self.home = home
        self.sink = self._build_sink()
        self.metrics = WorkerMetrics()
        self.metrics_port: int | None = None
        self.clock = ClockWatch()
        self.summary = RunSummary(sink=self.sink.stats)
        self._registered = False
        self._events: list[TableRow] = []  # platform events raised on capture threads
        self._events_lock = threading.Lock()
        self._shared_detector: Detector | None = None  # every camera's, unless the backend is per camera
        self.mqtt = (MqttPublisher(config.mqtt, config, [camera.id for camera in self.cameras_config], self.metrics)
                     if config.mqtt is not None else None)  # optional, best effort: the database is the record
        self.snapshots = (SnapshotWriter(home / "snapshots", config.health.snapshot_interval_s)
                          if config.health.snapshot_interval_s is not None else None)

    def _build_sink(self) -> EventSink:
        """The sink, spooling into the directory of this worker's set of cameras (`worker_spool_dir`)."""
        settings = self.config.sink
        return EventSink(
            self.database_url, self.home,
            worker_spool_dir(settings.spool_dir or self.home / "spool", [camera.id for camera in self.cameras_config]),
            flush_interval_s=settings.flush_interval_s, batch_rows=settings.batch_rows,
            spool_quota_bytes=int(settings.spool_quota_mb * 1e6), retry_interval_s=settings.retry_interval_s,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> RunSummary:
        """Run until every (file) source ends or `stop` is set; always flushes before returning.

        A misconfigured database or a busy metrics port fail here, before any frame is read."""
        self._register()
        if self.config.health.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.config.health.metrics_host, self.config.health.metrics_port)
        self.sink.start()
        if self.mqtt is not None:
            self.mqtt.start()
        self._on_platform_event(self._started())
        if self.config.detector.backend not in PER_CAMERA_BACKENDS:
            self._shared_detector = build_detector(self.config.detector)
        cameras = [self._build_camera(camera) for camera in self.cameras_config]
        started = time.monotonic()
        error: BaseException | None = None
        try:
            self._loop(cameras, stop)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._shutdown(cameras, self._stopped(stop, error, time.monotonic() - started))
        return self.summary

    def _build_camera(self, camera: CameraConfig) -> CameraPipeline:
        return build_camera(camera, self.config, detector=self._shared_detector or build_detector(self.config.detector),
                            on_event=self._on_platform_event)

    def _shutdown(self, cameras: list[CameraPipeline], stopped: PlatformEvent) -> None:
        for camera in cameras:  # a stop emits no count (no exit, no partial second): see count/zones.py
            camera.capture.stop()
            if not camera.health.only_cut_short(camera.capture.stats()):
                self._sample_health(camera, time.time())
        self._on_platform_event(stopped)
        self._drain_events()
        self.sink.close()
        if self.mqtt is not None:
            self.mqtt.close()
        self.metrics.stop()

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self, cameras: list[CameraPipeline], stop: threading.Event) -> None:
        while not stop.is_set() and not self.sink.failed:  # a failed sink ends the run (exit code 7)
            if not self._step(cameras):
                return

    def _step(self, cameras: list[CameraPipeline]) -> bool:
        """One pass over the cameras not done; False when there is none."""
        active = [camera for camera in cameras if not camera.done]
        if not active:
            return False
        # 1. Gather at most one frame per camera (a live camera may have none yet).
        batch: list[tuple[CameraPipeline, Frame]] = []
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
        return True

    def _process(self, batch: list[tuple[CameraPipeline, Frame]]) -> None:
        """Detect in as few calls as the cap allows: each frame is cut into its camera's tiles, and
        the tiles of every camera sharing a detector go through it `max_batch` at a time."""
        by_detector: dict[int, list[tuple[CameraPipeline, Frame]]] = defaultdict(list)
        for camera, frame in batch:
            by_detector[id(camera.detector)].append((camera, frame))
        for group in by_detector.values():
            plans = [self._plan(camera, frame) for camera, frame in group]
            started = time.perf_counter()
            run = run_tiled(group[0][0].detector, [frame.image for _, frame in group], plans,
                            self.config.detector.max_batch)
            inference_ms = (time.perf_counter() - started) * 1000
            for size in run.calls:
                self.summary.detector_batches[size] += 1
            for (camera, frame), dets, plan in zip(group, run.detections, plans, strict=True):
                self._track_and_count(camera, frame, dets, inference_ms)
                if self.snapshots is not None:  # draws and writes only on the due frame
                    self.snapshots.maybe_write(camera.config, frame, dets, plan)

    def _plan(self, camera: CameraPipeline, frame: Frame) -> TilePlan:
        plan = camera.tiling.plan(frame.image)  # ConfigError at the first frame if the region does not fit
        self.summary.detection[camera.config.id] = f"{self.config.detector.backend}, {plan.describe()}"
        return plan

    def _track_and_count(self, camera: CameraPipeline, frame: Frame, detections, inference_ms: float) -> None:
        """Track and count one frame with this camera's own state only."""
        tracks = camera.tracker.update(detections, frame.captured_at)
        self._emit(camera, camera.counter.update(tracks, frame.captured_at))
        camera.last_at = frame.captured_at
        if camera.config.capture_clock:
            self._check_clock(camera.config.id, frame.captured_at)
        self.summary.frames[camera.config.id] += 1
        e2e_ms = (time.time() - (frame.received_at or frame.captured_at)) * 1000
        camera.health.on_processed(decode_ms=frame.decode_ms, inference_ms=inference_ms, e2e_ms=e2e_ms)

    def _emit(self, camera: CameraPipeline, update: CountUpdate) -> None:
        run_id = camera.track_run_id
        rows = [crossing_row(event, run_id) for event in update.crossings]
        rows += [zone_event_row(event, run_id) for event in update.zone_events]
        rows += [occupancy_row(sample) for sample in update.occupancy]
        self.sink.put(rows)
        if self.mqtt is not None:  # the same rows, hence the same event ids; never waits on the broker
            self.mqtt.publish_rows(rows)
            self.mqtt.publish_occupancy(update.occupancy)
        for event in update.crossings:
            key = (event.camera_id, event.line_id, str(event.direction), event.class_name)
            self.summary.crossings[key] += 1
            self.metrics.crossings.labels(*key).inc()
        for event in update.zone_events:
            tally = self.summary.zone_entries if event.transition == "enter" else self.summary.zone_exits
            tally[(event.camera_id, event.zone_id)] += 1

    def _finish_camera(self, camera: CameraPipeline) -> None:
        camera.done = True
        error = camera.capture.error
        if error is not None:
            # A SourceError names its camera; anything else is a bug, already logged with its traceback.
            message = str(error) if isinstance(error, SourceError) else f"camera {camera.config.id}: {error!r}"
            self.summary.failed_cameras[camera.config.id] = message
            log.error("%s", message)
            return
        if not camera.config.capture_clock and camera.last_at:  # a file played to its last frame
            self._emit(camera, camera.counter.end_of_footage(camera.last_at))
        # Its silence from now on is no outage: the camera_offline rule leaves finished cameras be.
        frames = self.summary.frames[camera.config.id]
        self._on_platform_event(PlatformEvent("source_finished", Severity.INFO,
                                              f"camera {camera.config.id}: played to its end ({frames} frames)",
                                              camera_id=camera.config.id, details={"frames": frames}))

    def _sample_health(self, camera: CameraPipeline, now: float) -> None:
        sample = camera.health.sample(now, camera.capture.stats(), sink_backlog=self.sink.backlog_rows())
        self.sink.put([health_row(sample)])
        self.metrics.record_health(sample)
        self.metrics.record_sink(self.sink.stats)
        if not self._registered:
            self._register()

    # -- platform events and registry ---------------------------------------------------------

    def _started(self) -> PlatformEvent:
        cameras = [camera.id for camera in self.cameras_config]
        return PlatformEvent(
            "worker_started", Severity.INFO, f"worker {worker_version()} started: {', '.join(cameras)}",
            details={"version": worker_version(), "cameras": cameras, "detector": self.config.detector.backend,
                     "pid": os.getpid()})

    def _stopped(self, stop: threading.Event, error: BaseException | None, uptime_s: float) -> PlatformEvent:
        """How the run ended, with what it counted: a clean stop (signal, or every source ended)
        is info; an error, a failed sink or failed cameras are errors."""
        s = self.summary
        reason = (f"error: {type(error).__name__}: {error}" if error is not None
                  else f"sink failed: {s.sink.failure}" if self.sink.failed
                  else "stop requested" if stop.is_set() else "sources ended")
        clean = error is None and not self.sink.failed and not s.failed_cameras
        totals = {"frames": sum(s.frames.values()), "crossings": sum(s.crossings.values()),
                  "zone_entries": sum(s.zone_entries.values()), "zone_exits": sum(s.zone_exits.values())}
        return PlatformEvent(
            "worker_stopped", Severity.INFO if clean else Severity.ERROR,
            f"worker stopped ({reason}) after {uptime_s:.0f} s: "
            + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in totals.items()),
            details={"version": worker_version(), "cameras": [camera.id for camera in self.cameras_config],
                     "clean": clean, "reason": reason, "uptime_s": round(uptime_s, 1), **totals,
                     "frames_per_camera": dict(s.frames), "failed_cameras": dict(s.failed_cameras)})

    def _on_platform_event(self, event: PlatformEvent) -> None:
        """Called on capture threads: queue the event; the loop hands it to the sink."""
        with self._events_lock:
            self._events.append(platform_event_row(event))

    def _drain_events(self) -> None:
        with self._events_lock:
            rows, self._events = self._events, []
        self.sink.put(rows)

    def _check_clock(self, camera_id: str, stamped_at: float) -> None:
        skew, alarm = self.clock.check(camera_id, stamped_at)
        if skew is not None:
            self.metrics.clock_skew.labels(camera_id).set(skew)
        if alarm is not None:
            log.error("ALARM: %s", alarm.message)
            self._on_platform_event(alarm)

    def _register(self) -> None:
        """Check the schema, read the database's clock, upsert sites and cameras (geometry, no
        credentials). Wrong credentials, database or schema raise DatabaseError; a server that is
        down only delays this (retried at each health sample) while rows are spooled."""
        try:
            with connect(self.database_url, timeout_s=3) as conn:
                require_schema(conn)
                self.clock.sync(conn)
                register_cameras(conn, self.config, self.cameras_config)
            self._registered = True
        except (DatabaseUnavailable, psycopg.OperationalError) as exc:  # down, or went down mid-way
            log.warning("camera registry not updated yet (%s); events are spooled meanwhile", error_reason(exc))
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot register the cameras in {redact_dsn(self.database_url)}: "
                                f"{error_reason(exc)}") from None


def worker_version() -> str:
    try:
        return version("camcount")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def run_worker(
    config: WorkerConfig, *, database_url: str, home: Path, camera_ids: list[str] | None, stop: threading.Event,
    on_frames: Callable[[int], None] | None = None,
) -> RunSummary:
    """Build a worker and run it; raises SourceError if every camera failed."""
    worker = Worker(config, database_url=database_url, home=home, camera_ids=camera_ids, on_frames=on_frames)
    summary = worker.run(stop)
    if summary.failed_cameras and len(summary.failed_cameras) == len(worker.cameras_config):
        raise SourceError("; ".join(summary.failed_cameras.values()))
    return summary

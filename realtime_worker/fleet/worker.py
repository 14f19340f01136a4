"""`camcount worker run --fleet`: a worker that counts the cameras it leases, from the fleet config.

The loop is the single-box worker's (`runner.Worker`); around it, every `renew_every_s`, the
lease tick (`leases.LeaseStore.tick`) says which cameras this worker gained and lost, and a
changed fleet config is reloaded (geometry applies at the camera's next frame; a changed source
restarts the camera; a removed camera is released). Between ticks a camera whose lease reaches
its deadline stops being counted at once, renewed or not: a worker cut off from the database, or
paused past its lease, never counts footage that another worker may own. Every row is stamped
with the lease it was counted under, and the sink fences it (`fencing.py`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import psycopg

from camcount.db import connect, error_reason
from camcount.errors import ConfigError, DatabaseError, DatabaseUnavailable
from realtime_worker.assembly import CameraPipeline, build_counter, build_tiling
from realtime_worker.config import CameraConfig
from realtime_worker.fleet import fencing
from realtime_worker.fleet.config import FleetConfig, fleet_version, load_fleet
from realtime_worker.fleet.leases import DEFAULT_RENEW_EVERY_S, DEFAULT_TTL_S, Lease, LeaseStore
from realtime_worker.runner import RunSummary, Worker, worker_version
from realtime_worker.sink import EventSink
from realtime_worker.sink.rows import LeaseStamp, TableRow, event_id
from realtime_worker.sink.spool import worker_spool_dir
from realtime_worker.types import PlatformEvent, Severity

log = logging.getLogger(__name__)
_SOURCE_KEYS = {"source", "rtsp_transport", "playback", "loop", "start_at"}  # a change restarts the camera


def track_run_id(camera_id: str, epoch: int) -> str:
    """Stable per (camera, lease epoch): the same footage counted again under one lease (a spool
    replayed twice, a batch retried) lands once."""
    return event_id(camera_id, "lease", epoch)


class StampingSink(EventSink):
    """The sink of a fleet worker: each row of a leased camera is stamped with its lease as it is
    handed over, i.e. when it was counted."""

    def __init__(self, *args, stamp, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stamp = stamp

    def put(self, rows: list[TableRow]) -> None:
        super().put([self._stamped(row) for row in rows])

    def _stamped(self, row: TableRow) -> TableRow:
        stamp = self._stamp(fencing.camera_of(row)) if row.lease is None else None
        return row if stamp is None else TableRow(row.table, row.values, stamp)


class FleetWorker(Worker):
    def __init__(self, fleet: FleetConfig, *, database_url: str, home: Path, worker_id: str, capacity: int,
                 ttl_s: float = DEFAULT_TTL_S, renew_every_s: float = DEFAULT_RENEW_EVERY_S) -> None:
        assert fleet.config is not None
        self.worker_id = worker_id
        self.fleet = fleet
        self.renew_every_s = renew_every_s
        self._epochs: dict[str, int] = {}  # camera -> the epoch its rows are stamped with
        self.leases = LeaseStore(connect(database_url, autocommit=True), worker_id, host=socket.gethostname(),
                                 version=worker_version(), capacity=capacity, ttl_s=ttl_s)
        super().__init__(fleet.config, database_url=database_url, home=home)
        self.cameras_config = []  # the cameras it leases, as it leases them

    def _build_sink(self) -> EventSink:
        """One spool per worker id (its cameras change); rows stamped with their lease and fenced."""
        settings = self.config.sink
        return StampingSink(
            self.database_url, self.home,
            worker_spool_dir(settings.spool_dir or self.home / "spool", [f"fleet worker {self.worker_id}"]),
            flush_interval_s=settings.flush_interval_s, batch_rows=settings.batch_rows,
            spool_quota_bytes=int(settings.spool_quota_mb * 1e6), retry_interval_s=settings.retry_interval_s,
            fence=fencing.fence, stamp=self._stamp,
        )

    def _stamp(self, camera_id: str | None) -> LeaseStamp | None:
        epoch = self._epochs.get(camera_id) if camera_id else None
        return None if epoch is None else LeaseStamp(epoch, self.leases.database_now())

    # -- the loop, with leases around it -----------------------------------------------------------

    def _loop(self, cameras: list[CameraPipeline], stop: threading.Event) -> None:
        self.leases.join()
        next_tick = 0.0
        while not stop.is_set() and not self.sink.failed:
            now = time.monotonic()
            for camera in [c for c in cameras if now >= self._deadline(c.config.id)]:
                log.warning("lease on camera %s ended without renewal: no longer counted", camera.config.id)
                self._stop_camera(cameras, camera.config.id)
            if now >= next_tick:
                self._tick(cameras)
                next_tick = now + self.renew_every_s
            if not self._step(cameras):
                stop.wait(0.1)

    def _deadline(self, camera_id: str) -> float:
        lease = self.leases.held.get(camera_id)
        return -1.0 if lease is None else lease.deadline

    def _tick(self, cameras: list[CameraPipeline]) -> None:
        try:
            if fleet_version(self.leases.conn) != self.fleet.version:
                self._reload(cameras)
            for camera in [c for c in cameras if c.done]:  # a source that failed for good: let it go
                self._stop_camera(cameras, camera.config.id)
                self.leases.release([camera.config.id])
            eligible = {camera.id for camera in self.config.cameras}
            result = self.leases.tick(eligible)
        except (psycopg.Error, DatabaseError) as exc:
            log.warning("leases not renewed (%s): each camera stops at its lease's end", error_reason(exc))
            self._reconnect()
            return
        except ConfigError as exc:  # valid when applied, not with this worker's environment
            log.error("fleet config not reloaded: %s", exc)
            return
        for camera_id in result.lost:
            self._stop_camera(cameras, camera_id)
        for lease in result.gained:
            self._start_camera(cameras, lease)

    def _reconnect(self) -> None:
        self.leases.conn.close()
        try:
            self.leases.conn = connect(self.database_url, autocommit=True, timeout_s=3)
        except DatabaseError as exc:  # DatabaseUnavailable too: retried at the next tick
            log.warning("%s", exc)

    def _start_camera(self, cameras: list[CameraPipeline], lease: Lease) -> None:
        config = self.config.camera(lease.camera_id)
        pipeline = self._build_camera(config)
        pipeline.track_run_id = track_run_id(config.id, lease.epoch)
        self._epochs[config.id] = lease.epoch
        cameras.append(pipeline)
        self.cameras_config.append(config)
        self._on_platform_event(PlatformEvent(
            "lease_claimed", Severity.INFO, f"worker {self.worker_id} counts camera {config.id} (epoch {lease.epoch})",
            camera_id=config.id, details={"worker": self.worker_id, "epoch": lease.epoch}))
        log.info("camera %s claimed (epoch %d)", config.id, lease.epoch)

    def _stop_camera(self, cameras: list[CameraPipeline], camera_id: str) -> None:
        for camera in [c for c in cameras if c.config.id == camera_id]:
            camera.capture.stop()
            cameras.remove(camera)
            self.cameras_config.remove(camera.config)
            log.info("camera %s no longer counted here", camera_id)

    def _reload(self, cameras: list[CameraPipeline]) -> None:
        """A new fleet config: geometry at the next frame, a new source restarts, gone is released."""
        fleet = load_fleet(self.leases.conn)
        for camera_id, reason in fleet.skipped.items():
            if camera_id not in self.fleet.skipped:
                log.error("camera %s cannot run on this worker: %s", camera_id, reason)
        self.fleet = fleet
        if fleet.config is None:
            for camera in list(cameras):
                self._stop_camera(cameras, camera.config.id)
            self.leases.release(sorted(self.leases.held))
            return
        self.config = fleet.config
        known = {camera.id: camera for camera in fleet.config.cameras}
        for camera in list(cameras):
            new = known.get(camera.config.id)
            if new is None or _source_changed(camera.config, new):
                self._stop_camera(cameras, camera.config.id)
                self.leases.release([camera.config.id])  # reclaimed (new source) at once, or let go
            elif new != camera.config:
                self.cameras_config[self.cameras_config.index(camera.config)] = new
                camera.config, camera.counter, camera.tiling = new, build_counter(new), build_tiling(new, fleet.config)
                log.info("camera %s: new geometry from fleet config version %d", new.id, fleet.version)

    def _shutdown(self, cameras: list[CameraPipeline], stopped: PlatformEvent) -> None:
        """Flush every row first (the sink closes), then release the leases: rows stamped before
        the release are valid, and another worker may take the cameras at once."""
        super()._shutdown(cameras, stopped)
        try:
            self.leases.leave()
        except psycopg.Error as exc:
            log.warning("leases not released (%s): they expire by themselves", error_reason(exc))
        finally:
            self.leases.conn.close()


def _source_changed(old: CameraConfig, new: CameraConfig) -> bool:
    return old.model_dump(include=_SOURCE_KEYS) != new.model_dump(include=_SOURCE_KEYS)


def wait_for_fleet(database_url: str, stop: threading.Event,
                   poll_s: float = DEFAULT_RENEW_EVERY_S) -> FleetConfig | None:
    """The fleet config, once the database answers and a config with cameras this worker can
    run was applied; None if stopped first. A misconfigured database fails at once."""
    while not stop.is_set():
        try:
            with connect(database_url, timeout_s=3) as conn:
                fleet = load_fleet(conn)
            if fleet.config is not None:
                return fleet
            log.warning("no camera this worker can run in the fleet config yet (`camcount cameras apply FILE`)%s",
                        "".join(f"; {reason}" for reason in fleet.skipped.values()))
        except DatabaseUnavailable as exc:
            log.warning("%s; retrying", exc)
        except psycopg.errors.UndefinedTable:
            raise DatabaseError("the database has no fleet tables; run `camcount db migrate`") from None
        stop.wait(poll_s)
    return None


def run_fleet_worker(*, database_url: str, home: Path, worker_id: str, capacity: int, stop: threading.Event,
                     ttl_s: float = DEFAULT_TTL_S, renew_every_s: float = DEFAULT_RENEW_EVERY_S) -> RunSummary:
    fleet = wait_for_fleet(database_url, stop, renew_every_s)
    if fleet is None:
        return RunSummary()
    worker = FleetWorker(fleet, database_url=database_url, home=home, worker_id=worker_id, capacity=capacity,
                         ttl_s=ttl_s, renew_every_s=renew_every_s)
    return worker.run(stop)


def default_worker_id() -> str:
    """The host name: the pod's name under Kubernetes, stable across its restarts (with its spool).
    A second worker with the same id on the same home is refused by the spool's lock."""
    return socket.gethostname()

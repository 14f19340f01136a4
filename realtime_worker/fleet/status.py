"""What `camcount fleet status` shows: workers and their heartbeats, who holds each camera, and
the cameras nobody counts."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from realtime_worker.fleet.leases import DEFAULT_TTL_S


@dataclass(frozen=True)
class WorkerRow:
    worker_id: str
    host: str
    version: str
    capacity: int
    heartbeat_age_s: float
    cameras: int  # valid leases held

    @property
    def alive(self) -> bool:
        return self.heartbeat_age_s < DEFAULT_TTL_S


@dataclass(frozen=True)
class CameraRow:
    camera_id: str
    worker_id: str | None  # the last holder
    epoch: int
    lease_age_s: float | None  # since the current epoch was claimed
    expires_in_s: float  # negative: expired (or released) that long ago; -inf: never claimed

    @property
    def owned(self) -> bool:
        return self.expires_in_s > 0


def fleet_status(conn: psycopg.Connection) -> tuple[list[WorkerRow], list[CameraRow]]:
    workers = [WorkerRow(*row) for row in conn.execute(
        """SELECT w.worker_id, w.host, w.version, w.capacity, extract(epoch FROM now() - w.heartbeat_at)::float8,
                  (SELECT count(*) FROM ops.camera_leases l WHERE l.worker_id = w.worker_id AND l.expires_at > now())
           FROM ops.workers w ORDER BY w.worker_id""").fetchall()]
    cameras = [CameraRow(*row) for row in conn.execute(
        """SELECT c.camera_id, l.worker_id, l.epoch, extract(epoch FROM now() - l.claimed_at)::float8,
                  CASE WHEN isfinite(l.expires_at) THEN extract(epoch FROM l.expires_at - now())::float8
                       ELSE '-infinity'::float8 END
           FROM ops.cameras c JOIN ops.camera_leases l USING (camera_id)
           WHERE c.source IS NOT NULL ORDER BY c.camera_id""").fetchall()]
    return workers, cameras

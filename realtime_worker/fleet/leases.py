"""Camera leases in Postgres: which worker counts which camera, and until when.

Kubernetes keeps the workers running; the database holds the one fact it cannot, who owns each
camera now. Every `renew_every_s` a worker (`LeaseStore.tick`):

1. heartbeats (ops.workers), so the others know it is alive and how many cameras it takes;
2. renews the unexpired leases it holds; a lease that expired is never renewed (the migration's
   trigger refuses it), so its epoch's end is final and the sink can fence rows against it;
3. reads the fleet (live workers, cameras, leases) and computes the *assignment* every worker
   computes alike from the same facts: each camera goes to the first live worker with room in
   its rendezvous ranking, so a worker joining or leaving moves only the cameras it wins or held;
4. releases the leases assigned elsewhere, and claims free cameras assigned to it with
   `SELECT ... FOR UPDATE SKIP LOCKED` (a claim bumps the epoch: the fencing token).

A dead worker's leases expire `ttl_s` after its last renewal and its heartbeat goes stale at the
same time; the next tick of the worker its cameras are now assigned to claims them. So a camera
is counted again within ttl_s + renew_every_s + its start (30 s budget; 10 + 3 s by default).

The arithmetic is pure (`rendezvous_ranking`, `assign`, `Lease.deadline`); `LeaseStore` is the I/O.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import psycopg

DEFAULT_TTL_S = 10.0
DEFAULT_RENEW_EVERY_S = 3.0
# A worker stops counting a camera this long before its lease's end by the database's clock:
# the slack for the clock offset's error and one frame's processing.
SAFETY_MARGIN_S = 1.0


# -- pure arithmetic -----------------------------------------------------------------------------


def rendezvous_score(camera_id: str, worker_id: str) -> int:
    """Highest random weight hashing: a stable, uniform score of one (camera, worker) pair."""
    return int.from_bytes(hashlib.blake2b(f"{camera_id}\0{worker_id}".encode(), digest_size=8).digest(), "big")


def rendezvous_ranking(camera_id: str, workers: Iterable[str]) -> list[str]:
    """The workers in the order `camera_id` prefers them; removing one never reorders the others."""
    return sorted(workers, key=lambda worker: (-rendezvous_score(camera_id, worker), worker))


def assign(cameras: Iterable[str], capacities: Mapping[str, int]) -> dict[str, str]:
    """Camera -> worker: each camera to the first worker in its ranking with room left, cameras
    taken in id order so that every worker computes the same answer. A camera no worker has room
    for is left out (unowned: the alert says so)."""
    load: Counter[str] = Counter()
    assignment = {}
    for camera in sorted(cameras):
        for worker in rendezvous_ranking(camera, capacities):
            if load[worker] < capacities[worker]:
                assignment[camera] = worker
                load[worker] += 1
                break
    return assignment


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease this worker holds: the camera, its epoch (fencing token), when it ends by the
    database's clock, and when this worker must stop counting by its own monotonic clock."""

    camera_id: str
    epoch: int
    expires_at: float  # POSIX seconds, database clock
    deadline: float  # time.monotonic() after which the camera is no longer counted

    @staticmethod
    def deadline_for(expires_at: float, database_now: float, asked_at: float) -> float:
        """The lease's end on this machine's monotonic clock, counted from when the request was
        sent (before the database's `now()`, so never late), less the safety margin."""
        return asked_at + (expires_at - database_now) - SAFETY_MARGIN_S


@dataclass(frozen=True, slots=True)
class FleetView:
    """What one read of the fleet says: live workers and their capacities, the fleet's cameras,
    and who holds a valid lease on each (None: free)."""

    capacities: dict[str, int]
    holders: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class TickResult:
    held: dict[str, Lease]  # every lease held after the tick
    gained: list[Lease]  # claimed in this tick
    lost: list[str]  # cameras no longer held: expired, taken or released


def plan(view: FleetView, me: str, held: Iterable[str], eligible: set[str]) -> tuple[list[str], list[str]]:
    """(cameras to release, cameras to claim) for worker `me`, from one view of the fleet.

    Release what the assignment gives to another live worker; claim, among the free cameras
    assigned to `me`, those this worker can run (`eligible`: its environment resolves their
    `${VAR}`s). Holding what is assigned to nobody is fine: it is kept until someone has room."""
    assignment = assign(view.holders, view.capacities)
    release = sorted(camera for camera in held if assignment.get(camera, me) != me or camera not in view.holders)
    claim = sorted(camera for camera, worker in assignment.items()
                   if worker == me and view.holders[camera] is None and camera in eligible)
    return release, claim


# -- I/O -----------------------------------------------------------------------------------------


class LeaseStore:
    """One worker's side of the lease protocol, on its own autocommit connection."""

    def __init__(self, conn: psycopg.Connection, worker_id: str, *, host: str, version: str, capacity: int,
                 ttl_s: float = DEFAULT_TTL_S) -> None:
        self.conn = conn
        self.worker_id = worker_id
        self.host = host
        self.version = version
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.held: dict[str, Lease] = {}
        self._offset = 0.0  # database POSIX time - time.monotonic()

    def database_now(self) -> float:
        """The database's clock, estimated from the last round trip."""
        return time.monotonic() + self._offset

    def join(self) -> None:
        """Announce this worker (a restart with the same id starts afresh)."""
        self.conn.execute(
            """INSERT INTO ops.workers (worker_id, host, version, capacity) VALUES (%s, %s, %s, %s)
               ON CONFLICT (worker_id) DO UPDATE SET host = EXCLUDED.host, version = EXCLUDED.version,
               capacity = EXCLUDED.capacity, started_at = now(), heartbeat_at = now()""",
            (self.worker_id, self.host, self.version, self.capacity))

    def tick(self, eligible: set[str]) -> TickResult:
        """Heartbeat, renew, then release and claim against the assignment (module docstring)."""
        before = {camera: lease.epoch for camera, lease in self.held.items()}
        asked_at = time.monotonic()
        (database_now,) = self.conn.execute(
            """UPDATE ops.workers SET heartbeat_at = now(), capacity = %s WHERE worker_id = %s
               RETURNING extract(epoch FROM now())::float8""", (self.capacity, self.worker_id)).fetchone() or (None,)
        if database_now is None:  # our row was removed (by hand, or a clean stop elsewhere): join again
            self.join()
            database_now = self.conn.execute("SELECT extract(epoch FROM now())::float8").fetchone()[0]
        self._offset = database_now - (asked_at + time.monotonic()) / 2
        self.held = self._leases(self.conn.execute(
            """UPDATE ops.camera_leases SET expires_at = now() + %s * interval '1 second'
               WHERE worker_id = %s AND expires_at > now()
               RETURNING camera_id, epoch, extract(epoch FROM expires_at)::float8, extract(epoch FROM now())::float8""",
            (self.ttl_s, self.worker_id)), asked_at)
        release, claim = plan(self.view(), self.worker_id, self.held, eligible)
        self.release(release)
        room = self.capacity - len(self.held)
        gained = self._claim(claim[:max(room, 0)], asked_at) if claim and room > 0 else []
        self.held.update({lease.camera_id: lease for lease in gained})
        kept = {camera for camera, lease in self.held.items() if before.get(camera) == lease.epoch}
        return TickResult(dict(self.held), [lease for camera, lease in self.held.items() if camera not in kept],
                          sorted(set(before) - kept))

    def view(self) -> FleetView:
        capacities = dict(self.conn.execute(
            "SELECT worker_id, capacity FROM ops.workers WHERE heartbeat_at > now() - %s * interval '1 second'",
            (self.ttl_s,)).fetchall())
        capacities.setdefault(self.worker_id, self.capacity)  # this worker, even if its heartbeat lags
        holders = dict(self.conn.execute(
            """SELECT c.camera_id, CASE WHEN l.expires_at > now() THEN l.worker_id END
               FROM ops.cameras c JOIN ops.camera_leases l USING (camera_id) WHERE c.source IS NOT NULL""").fetchall())
        return FleetView(capacities, holders)

    def release(self, cameras: Sequence[str]) -> None:
        """End these leases now (after their rows were flushed): another worker may claim them at once."""
        if not cameras:
            return
        self.conn.execute(
            """UPDATE ops.camera_leases SET expires_at = now()
               WHERE worker_id = %s AND camera_id = ANY(%s) AND expires_at > now()""",
            (self.worker_id, list(cameras)))
        for camera in cameras:
            self.held.pop(camera, None)

    def leave(self) -> None:
        """A clean stop: release every lease, and say this worker is gone."""
        self.release(sorted(self.held))
        self.conn.execute("DELETE FROM ops.workers WHERE worker_id = %s", (self.worker_id,))

    def _claim(self, cameras: Sequence[str], asked_at: float) -> list[Lease]:
        """Claim free cameras; a camera another worker locks or claims first is skipped. The ended
        epoch is kept in ops.camera_lease_history: the sink fences that epoch's late rows by it."""
        cursor = self.conn.execute(
            """WITH free AS (
                    SELECT camera_id, epoch, worker_id, claimed_at, expires_at FROM ops.camera_leases
                    WHERE camera_id = ANY(%(cameras)s) AND expires_at <= now()
                    ORDER BY camera_id FOR UPDATE SKIP LOCKED
                ), ended AS (
                    INSERT INTO ops.camera_lease_history (camera_id, epoch, worker_id, claimed_at, ended_at)
                    SELECT camera_id, epoch, worker_id, claimed_at, expires_at FROM free WHERE worker_id IS NOT NULL
                    ON CONFLICT DO NOTHING
                )
                UPDATE ops.camera_leases l SET worker_id = %(me)s, epoch = l.epoch + 1, claimed_at = now(),
                       expires_at = now() + %(ttl)s * interval '1 second'
                FROM free WHERE l.camera_id = free.camera_id
                RETURNING l.camera_id, l.epoch, extract(epoch FROM l.expires_at)::float8,
                          extract(epoch FROM now())::float8""",
            {"cameras": list(cameras), "me": self.worker_id, "ttl": self.ttl_s})
        return list(self._leases(cursor, asked_at).values())

    @staticmethod
    def _leases(cursor: psycopg.Cursor, asked_at: float) -> dict[str, Lease]:
        return {camera: Lease(camera, epoch, expires_at, Lease.deadline_for(expires_at, now, asked_at))
                for camera, epoch, expires_at, now in cursor.fetchall()}


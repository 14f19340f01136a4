"""Fleet leasing: what 1,000 cameras and 20 workers cost the database, and how fast a dead
worker's cameras are claimed again.

    .venv/bin/python -m bench.fleet [--cameras 1000] [--workers 20] [--seconds 60] [--kills 20]

The workers are simulated: each is a thread running the real lease protocol
(`realtime_worker.fleet.leases.LeaseStore.tick` every 3 s, leases of 10 s) on its own connection,
with no cameras to decode, so what is measured is the leasing alone:

- **queries/s**: statements the workers sent in the steady window (counted client-side; each is
  one autocommit transaction), and the database CPU they cost: the CPU time of the 20 server
  backends serving them (psutil), as a share of one core.
- **failover**: `--kills` times, one worker stops ticking without a word (as `kill -9` would);
  the time until every camera it held is claimed by the others, p50 and p99. The killed worker
  comes back under a new id before the next kill, so each kill finds a full fleet.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg
import yaml

from bench.common import bench_database, print_table
from realtime_worker.fleet.config import apply_file
from realtime_worker.fleet.leases import DEFAULT_RENEW_EVERY_S, LeaseStore


class CountingConnection(psycopg.Connection):
    """Counts the statements it runs."""

    statements = 0

    def execute(self, *args, **kwargs):  # type: ignore[override]
        self.statements += 1
        return super().execute(*args, **kwargs)


class SimulatedWorker(threading.Thread):
    """The lease protocol of one worker, with no cameras to run: it ticks until killed."""

    def __init__(self, url: str, worker_id: str, capacity: int, cameras: set[str]) -> None:
        super().__init__(name=worker_id, daemon=True)
        conn = CountingConnection.connect(url, autocommit=True)
        self.backend_pid = conn.info.backend_pid
        self.leases = LeaseStore(conn, worker_id, host="bench", version="bench", capacity=capacity)
        self.cameras = cameras
        self.killed = threading.Event()

    def run(self) -> None:
        self.leases.join()
        while not self.killed.is_set():
            self.leases.tick(self.cameras)
            self.killed.wait(DEFAULT_RENEW_EVERY_S)
        self.leases.conn.close()

    @property
    def statements(self) -> int:
        return self.leases.conn.statements  # type: ignore[attr-defined]


def fleet_file(path: Path, cameras: list[str]) -> Path:
    path.write_text(yaml.safe_dump({
        "sites": [{"id": "bench-fleet", "timezone": "UTC"}],
        "cameras": [{"id": camera, "site": "bench-fleet", "lines": [{"id": "door", "points": [[0, 10], [100, 10]]}],
                     "source": f"rtsp://viewer:${{CAM_PW}}@10.8.{i // 250}.{i % 250}/s"}
                    for i, camera in enumerate(cameras)],
    }))
    return path


def held(db: psycopg.Connection) -> dict[str, str | None]:
    return dict(db.execute("SELECT camera_id, CASE WHEN expires_at > now() THEN worker_id END "
                           "FROM ops.camera_leases").fetchall())


def wait_owned(db: psycopg.Connection, cameras: set[str], timeout_s: float = 120, dead: str | None = None) -> float:
    """Seconds until every camera has a valid lease held by a worker other than `dead`."""
    began = time.monotonic()
    while True:
        owners = held(db)
        if all(owners.get(camera) not in (None, dead) for camera in cameras):
            return time.monotonic() - began
        if time.monotonic() - began > timeout_s:
            raise TimeoutError(f"cameras still unowned after {timeout_s} s")
        time.sleep(0.2)


def cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def main(cameras: int = 1000, workers: int = 20, seconds: float = 60, kills: int = 20) -> list[tuple[str, str, str]]:
    url = bench_database("camcount_bench_fleet")
    ids = [f"bench-cam-{i:04d}" for i in range(cameras)]
    capacity = -(-cameras * 6 // (workers * 5))  # 20 % headroom: the fleet survives a worker's loss
    with psycopg.connect(url, autocommit=True) as db, tempfile.TemporaryDirectory() as tmp:
        apply_file(db, fleet_file(Path(tmp) / "fleet.yaml", ids))
        eligible = set(ids)
        fleet = [SimulatedWorker(url, f"bench-w{i:02d}", capacity, eligible) for i in range(workers)]
        for worker in fleet:
            worker.start()
        settle = wait_owned(db, eligible)
        time.sleep(2 * DEFAULT_RENEW_EVERY_S)  # releases and claims of the first rounds settle

        statements, cpu, began = sum(w.statements for w in fleet), cpu_s([w.backend_pid for w in fleet]), time.time()
        time.sleep(seconds)
        elapsed = time.time() - began
        rate = (sum(w.statements for w in fleet) - statements) / elapsed
        cores = (cpu_s([w.backend_pid for w in fleet]) - cpu) / elapsed

        failovers = []
        for k in range(kills):
            victim = fleet.pop(k % len(fleet))
            lost = {camera for camera, owner in held(db).items() if owner == victim.name}
            victim.killed.set()
            began = time.monotonic()
            wait_owned(db, lost, timeout_s=60, dead=victim.name)
            failovers.append(time.monotonic() - began)
            replacement = SimulatedWorker(url, f"bench-r{k:02d}", capacity, eligible)
            replacement.start()
            fleet.append(replacement)
            time.sleep(DEFAULT_RENEW_EVERY_S)
        for worker in fleet:
            worker.killed.set()
    p50 = statistics.median(failovers) if failovers else float("nan")
    p99 = statistics.quantiles(failovers, n=100)[98] if len(failovers) > 1 else p50
    return [
        (f"leasing, {cameras} cameras / {workers} workers: statements/s", f"{rate:.1f}",
         f"steady window {seconds:.0f} s; each worker ticks every {DEFAULT_RENEW_EVERY_S:.0f} s"),
        ("leasing: database CPU", f"{cores * 100:.2f} % of a core",
         "the 20 backends' CPU time over the same window"),
        ("leasing: all cameras owned from a cold start", f"{settle:.1f} s", "20 workers started at once"),
        (f"failover over {len(failovers)} kills: p50 / p99", f"{p50:.1f} / {p99:.1f} s",
         "kill -> every camera it held claimed again; target <= 30"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kills", type=int, default=20)
    options = parser.parse_args()
    print_table("bench.fleet", main(options.cameras, options.workers, options.seconds, options.kills))

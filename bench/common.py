"""What every benchmark needs: a migrated database of its own, the sample clip, a table printer,
and a worker in its own process with its memory sampled."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import psutil

from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.settings import user_database_url

REPO = Path(__file__).resolve().parent.parent
SAMPLE_VIDEO = REPO / "data" / "vtest.avi"
_EXPORTED: set[str] = set()  # URLs exported below: not the user's, so the next bench gets its own


def bench_database(name: str = "camcount_bench") -> str:
    """A fresh, migrated database on the embedded cluster (or the user's own database as given)."""
    url = user_database_url()
    if url is None or url in _EXPORTED:
        cluster = Cluster.default()
        cluster.start()
        url = cluster.recreate_database(name)
        os.environ["CAMCOUNT_DATABASE_URL"] = url  # for what reads it: Dagster resources, dbt, subprocesses
        _EXPORTED.add(url)
    migrate(url)
    return url


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """Rows of (figure, value, target/note), aligned."""
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print("-" * len(title))
    for figure, value, note in rows:
        print(f"{figure:<{width}}  {value:>14}  {note}")


def start_worker(config: Path, url: str, home: Path) -> subprocess.Popen[bytes]:
    """`camcount worker run` in its own process, so its RSS and CPU are the worker's alone."""
    with open(home / "worker.log", "ab") as log:  # a file, not a pipe: a pipe nobody reads could block it
        return subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "camcount"), "worker", "run", "--config", str(config)],
            env={**os.environ, "CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(home)},
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def stop_worker(worker: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """SIGTERM (the worker flushes every row first), then check it exited cleanly."""
    worker.terminate()
    if worker.wait(timeout_s) != 0:
        raise RuntimeError(f"worker exited with {worker.returncode}; see its worker.log")


class RssSampler(threading.Thread):
    """Samples a process's resident memory (MB) every `interval_s` until `stop()`."""

    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []  # (monotonic, MB)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.samples.append((time.monotonic(), self.process.memory_info().rss / 2**20))
            except psutil.NoSuchProcess:
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def since(self, started: float) -> list[float]:
        return [mb for at, mb in self.samples if at >= started]

"""The live API under load, beside a worker counting 4 live cameras.

    .venv/bin/python -m bench.api [--seconds 60]

One worker (`camcount worker run`, SSDLite, 4 cameras streaming the sample clip as MJPEG at
10 fps, in a process of its own) runs throughout. In alternating windows of WINDOW_S, the API is
absent, then `camcount serve` (its own process, logged in as camcount_api) is started and loaded:
100 Server-Sent-Events clients on the crossings stream and 200 requests/s on `counts` (open loop:
each request is due on schedule and its latency counts from then, with camera, period and
grouping varied), then stopped. `seconds` of load in all, and as many without. Alternating keeps
a shared machine's drifting load from passing for the API's effect.

Figures: counts latency p50/p99; database queries per counts request (all of the API's queries,
as it counts them) and the server's transactions/s with and without; the API's RSS; each SSE
client's crossings against the database (all of them, in order, none twice) and their delivery
latency from the frame's capture; the worker's processed fps with the API loaded against without.
The load generator shares this machine's cores with the worker, the API and the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import psutil
import psycopg

from bench.common import REPO, RssSampler, bench_database, print_table, start_worker, stop_worker
from bench.harness.net import free_port
from bench.harness.worker_configs import LINES, ZONES, camera, write_config
from bench.latency import EXTRA_LINES, HEALTH_S, WARMUP_S, mjpeg_server
from camcount.db.roles import API_PASSWORD_ENV

CAMERAS = 4
SSE_CLIENTS = 100
COUNTS_PER_S = 200
WINDOW_S = 20.0  # the API loaded, then absent, in turns: a busy machine's drift falls on both alike
PERIODS = ("hour", "day", "week", "month")


@dataclass
class SseClient:
    seqs: list[int] = field(default_factory=list)
    delays_s: list[float] = field(default_factory=list)  # capture -> received


@dataclass
class Load:
    latencies_s: list[float] = field(default_factory=list)  # from when each request was due
    sent_late_s: list[float] = field(default_factory=list)  # due -> written: the generator's own delay
    errors: Counter[str] = field(default_factory=Counter)  # HTTP status or exception -> requests
    clients: list[SseClient] = field(default_factory=list)
    sending_s: float = 0.0


def worker_fps(url: str, ids: list[str], wall_from: float, wall_to: float) -> list[float]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT camera_id, avg(processed_fps) FROM raw.stream_health WHERE camera_id = ANY(%s) "
            "AND time > to_timestamp(%s) AND time <= to_timestamp(%s) GROUP BY 1",
            (ids, wall_from + HEALTH_S, wall_to)).fetchall()
    if len(rows) != len(ids):
        raise RuntimeError(f"health rows for {len(rows)} of {len(ids)} cameras")
    return [float(fps) for _, fps in rows]


def high_watermark(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT raw.ingest_high_watermark()").fetchone()[0]


def transactions(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                            "WHERE datname = current_database()").fetchone()[0]


class Connection:
    """A minimal keep-alive HTTP/1.1 client: a full client library costs the load generator more
    CPU per request than the API spends answering, on the cores the worker needs."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, target: str, headers: str = "") -> int:
        """Send a GET and read the status line and headers; returns the status."""
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self._length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                             if line.lower().startswith("content-length:")), 0)
        return int(head.split(" ", 2)[1])

    async def get(self, target: str) -> int:
        status = await self.request(target)
        await self.reader.readexactly(self._length)
        return status

    def close(self) -> None:
        self.writer.close()


async def sse_client(port: int, start_seq: int, client: SseClient) -> None:
    """One stream from start_seq on, until cancelled (chunked encoding: data lines are read as lines)."""
    connection = await Connection.open(port)
    try:
        assert await connection.request("/api/v1/crossings/stream", f"Last-Event-ID: {start_seq}\r\n") == 200
        while True:
            line = await connection.reader.readline()
            if line.startswith(b"id: "):
                client.seqs.append(int(line[4:]))
            elif line.startswith(b"data: "):
                at = datetime.fromisoformat(json.loads(line[6:])["time"]).timestamp()
                client.delays_s.append(time.time() - at)
    finally:
        connection.close()


async def counts_load(port: int, ids: list[str], seconds: float, load: Load) -> None:
    """Open loop: request n is due at n / COUNTS_PER_S and its latency counts from then, so a slow
    answer cannot delay the next requests and hide its own effect."""
    rng = random.Random(5)
    idle: deque[Connection] = deque()  # first in, first out: every connection stays in use
    pending: set[asyncio.Task] = set()

    async def one(due: float, target: str) -> None:
        connection = idle.popleft() if idle else await Connection.open(port)
        load.sent_late_s.append(time.perf_counter() - due)
        try:
            try:
                status = await connection.get(target)
            except (asyncio.IncompleteReadError, ConnectionResetError):  # closed while idle: again, as browsers do
                connection.close()
                connection = await Connection.open(port)
                status = await connection.get(target)
        except (OSError, asyncio.IncompleteReadError) as exc:
            load.errors[type(exc).__name__] += 1
            connection.close()
            return
        load.latencies_s.append(time.perf_counter() - due)
        if status != 200:
            load.errors[f"HTTP {status}"] += 1
        idle.append(connection)

    started = time.perf_counter()
    for n in range(int(seconds * COUNTS_PER_S)):
        due = started + n / COUNTS_PER_S
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        query = urlencode({"camera": rng.choice(ids), "period": rng.choice(PERIODS),
                           "by": rng.choice(["line", "camera"])})
        task = asyncio.create_task(one(due, f"/api/v1/counts?{query}"))
        pending.add(task)
        task.add_done_callback(pending.discard)
    load.sending_s = time.perf_counter() - started
    await asyncio.gather(*pending)
    for connection in idle:
        connection.close()


async def run_load(port: int, ids: list[str], start_seq: int, seconds: float,
                   watermark: Callable[[], int]) -> tuple[Load, int]:
    """The load for `seconds`; returns it with the ingest watermark when it ended."""
    load = Load(clients=[SseClient() for _ in range(SSE_CLIENTS)])
    streams = [asyncio.create_task(sse_client(port, start_seq, client)) for client in load.clients]
    await counts_load(port, ids, seconds, load)
    end_seq = await asyncio.to_thread(watermark)
    await asyncio.sleep(3.0)  # let the streams deliver what was committed, then hang up
    for task in streams:
        task.cancel()
    failed = [r for r in await asyncio.gather(*streams, return_exceptions=True)
              if not isinstance(r, asyncio.CancelledError)]
    if failed:
        raise RuntimeError(f"{len(failed)} SSE clients failed: {failed[0]!r}")
    return load, end_seq


def start_api(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    with open(home / "api.log", "ab") as log:
        return subprocess.Popen([str(REPO / ".venv" / "bin" / "camcount"), "serve", "--port", str(port)],
                                env={**os.environ, "CAMCOUNT_DATABASE_URL": url, "CAMCOUNT_HOME": str(home)},
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def wait_ready(api: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{api}/api/v1/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not start; see api.log")


def stream_complete(url: str, window: Window, client: SseClient) -> bool:
    """Every crossing committed in the window (and any later one it saw), in order, once each."""
    with psycopg.connect(url) as conn:
        expected = [seq for (seq,) in conn.execute(
            "SELECT ingest_seq FROM raw.crossing_events WHERE ingest_seq > %s AND ingest_seq <= %s ORDER BY 1",
            (window.start_seq, max([window.end_seq, *client.seqs[-1:]])))]
    return client.seqs == expected


@dataclass
class Window:
    loaded: bool
    start: float  # wall clock
    end: float
    transactions_per_s: float
    load: Load | None = None
    start_seq: int = 0  # the clients resumed after this ingest_seq
    end_seq: int = 0  # committed by the end of the load: the clients must have all up to it
    queries: int = 0
    rss_mb: float = 0.0
    cpu_s: float = 0.0  # the API's CPU time during the load


def loaded_window(url: str, workdir: Path, ids: list[str]) -> Window:
    """`camcount serve` started, then WINDOW_S of load on it, then stopped."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    server = start_api(url, workdir, port)
    try:
        wait_ready(api, server)
        httpx.get(f"{api}/api/v1/counts", timeout=60).raise_for_status()  # steady state: the cache is warm
        rss = RssSampler(server.pid, 0.5)
        rss.start()
        start_seq = high_watermark(url)
        queries = httpx.get(f"{api}/api/v1/healthz").json()["database_queries"]
        cpu_s = sum(psutil.Process(server.pid).cpu_times()[:2])
        transactions_before, start = transactions(url), time.time()
        load, end_seq = asyncio.run(run_load(port, ids, start_seq, WINDOW_S, lambda: high_watermark(url)))
        end = start + load.sending_s
        cpu_s = sum(psutil.Process(server.pid).cpu_times()[:2]) - cpu_s
        transactions_per_s = (transactions(url) - transactions_before) / (time.time() - start)
        queries = httpx.get(f"{api}/api/v1/healthz").json()["database_queries"] - queries
        rss.stop()
    finally:
        server.terminate()
        server.wait(30)
    return Window(True, start, end, transactions_per_s, load, start_seq, end_seq, queries,
                  max(mb for _, mb in rss.samples), cpu_s)


def quiet_window(url: str) -> Window:
    transactions_before, start = transactions(url), time.time()
    time.sleep(WINDOW_S)
    return Window(False, start, time.time(), (transactions(url) - transactions_before) / WINDOW_S)


def main(seconds: float = 60.0) -> list[tuple[str, str, str]]:
    os.environ.setdefault(API_PASSWORD_ENV, secrets.token_urlsafe(24))  # migrate enables camcount_api with it
    url = bench_database("camcount_bench_api")
    windows: list[Window] = []
    with tempfile.TemporaryDirectory() as tmp, mjpeg_server() as (stream, _):
        workdir = Path(tmp)
        ids = [f"api-{i}-{time.monotonic_ns() % 10**6}" for i in range(CAMERAS)]
        config = write_config(workdir / "cameras.yaml",
                              [camera(cid, stream, lines=LINES + EXTRA_LINES, zones=ZONES) for cid in ids],
                              health={"interval_s": HEALTH_S, "metrics_port": None})
        worker = start_worker(config, url, workdir)
        try:
            time.sleep(WARMUP_S)
            for n in range(2 * max(1, round(seconds / WINDOW_S))):  # quiet, loaded, quiet, loaded, ...
                windows.append(loaded_window(url, workdir, ids) if n % 2 else quiet_window(url))
        finally:
            stop_worker(worker)
    return report(url, ids, windows)


def report(url: str, ids: list[str], windows: list[Window]) -> list[tuple[str, str, str]]:
    loaded = [w for w in windows if w.loaded]
    latencies = [s for w in loaded for s in w.load.latencies_s]
    errors = sum((w.load.errors for w in loaded), Counter())
    seconds = sum(w.end - w.start for w in loaded)
    rate, queries_per_s = len(latencies) / seconds, sum(w.queries for w in loaded) / seconds
    p50, p99 = (float(np.percentile(latencies, q)) * 1000 for q in (50, 99))
    late_p99 = float(np.percentile([s for w in loaded for s in w.load.sent_late_s], 99)) * 1000
    clients = [(w, c) for w in loaded for c in w.load.clients]
    complete = sum(stream_complete(url, window, client) for window, client in clients)
    delays = [d for _, client in clients for d in client.delays_s]
    fps = {flag: statistics.fmean(f for w in windows if w.loaded == flag for f in worker_fps(url, ids, w.start, w.end))
           for flag in (True, False)}
    tx = {flag: statistics.fmean(w.transactions_per_s for w in windows if w.loaded == flag) for flag in (True, False)}
    load_note = f"{COUNTS_PER_S} req/s sent + {SSE_CLIENTS} SSE clients, {len(loaded)} windows of {WINDOW_S:g} s"
    rows = [
        ("counts latency p50", f"{p50:.1f} ms",
         f"{load_note}; {len(latencies)} answered; errors: {dict(errors) or 'none'}"),
        ("counts latency p99", f"{p99:.1f} ms", f"target <= 100; of which the generator itself sent "
                                                 f"p99 {late_p99:.0f} ms late (this machine's CPU)"),
        ("DB queries / counts requests", f"{100 * queries_per_s / rate:.1f} %",
         f"target <= 10; {queries_per_s:.1f} queries/s (all of the API's) for {rate:.0f} answered req/s"),
        ("DB transactions/s with the API loaded, above without", f"{tx[True] - tx[False]:.1f}",
         f"the server's count (pg_stat_database): {tx[True]:.1f} vs {tx[False]:.1f}, worker included"),
        ("API RSS (peak)", f"{max(w.rss_mb for w in loaded):.0f} MB",
         f"`camcount serve` under this load, using {sum(w.cpu_s for w in loaded) / seconds:.2f} cores"),
        ("SSE clients with every crossing, in order, once", f"{complete}/{len(clients)}",
         f"{statistics.fmean(len(c.seqs) for _, c in clients):.0f} crossings each on average"),
        ("SSE delivery p50 / p99 (capture -> client)",
         f"{np.percentile(delays, 50):.2f} / {np.percentile(delays, 99):.2f} s" if delays else "-",
         "worker flush (0.5 s) + stream poll (0.5 s) + load" if delays else "no crossing while loaded"),
        ("worker fps per camera, API loaded / no API", f"{fps[True] / fps[False]:.3f}",
         f"target >= 0.95; {fps[True]:.2f} vs {fps[False]:.2f} fps, alternating {WINDOW_S:g}-s windows "
         f"({CAMERAS} live cameras at 10 fps; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"),
    ]
    print_table("Live API under load (worker writing 4 live cameras)", rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load (and of the worker-only run)")
    main(parser.parse_args().seconds)

"""Fault injection through the real worker, on streams and storage: an RTSP server restart, a
full spool while the database is away, and broken inputs (a truncated file, an MJPEG stream of
random bytes, a "camera" answering RTSP with junk). Database down and SIGKILL: test_faults.py."""

from __future__ import annotations

import json
import os
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.harness.net import free_port
from bench.harness.streams import RtspServer, rtsp_server_available
from bench.harness.worker_configs import camera, db_totals, write_config
from realtime_worker.config import load_config
from realtime_worker.runner import Worker
from realtime_worker.sink import EventSink
from realtime_worker.sink.spool import worker_spool_dir
from tests.conftest import run_camcount

pytestmark = pytest.mark.fault

FAST_RETRY = {"stall_timeout_s": 3, "backoff_initial_s": 0.2, "backoff_max_s": 1.0}


@contextmanager
def running(worker: Worker) -> Iterator[threading.Event]:
    """The worker on a thread for the duration of the block; stopped (and flushed) on exit."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="worker-under-test")
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)


def wait_for_event(db: psycopg.Connection, camera_id: str, kind: str, timeout_s: float) -> datetime:
    """When the first `kind` platform event of the camera happened, once the sink has written it."""
    deadline = time.monotonic() + timeout_s
    while (row := db.execute("SELECT min(time) FROM raw.platform_events WHERE camera_id = %s AND kind = %s",
                             (camera_id, kind)).fetchone()[0]) is None:
        assert time.monotonic() < deadline, f"no {kind} event for {camera_id} in the database after {timeout_s} s"
        time.sleep(0.2)
    return row


@pytest.mark.skipif(not rtsp_server_available(), reason="needs GStreamer's RTSP server (make setup)")
def test_rtsp_restart_reconnects_within_5s_and_is_recorded(
    database_url: str, db: psycopg.Connection, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    with RtspServer(short_clip) as server:
        path = write_config(tmp_path / "w.yaml", [camera(camera_id, server.url)], sources=FAST_RETRY)
        worker = Worker(load_config(path), database_url=database_url, home=tmp_path)
        with running(worker):
            deadline = time.monotonic() + 30
            while worker.summary.frames[camera_id] < 20:
                assert time.monotonic() < deadline, "the worker never got frames from the RTSP server"
                time.sleep(0.1)
            server.stop()
            down_at = wait_for_event(db, camera_id, "source_down", timeout_s=10)
            time.sleep(2)  # the outage: reconnects fail meanwhile
            server.start()
            back_at = time.time()
            recovered_at = wait_for_event(db, camera_id, "source_recovered", timeout_s=15)
            frames_at_recovery = worker.summary.frames[camera_id]
            time.sleep(2.5)  # frames flow again, and the health windows after the outage are written
        assert worker.summary.frames[camera_id] > frames_at_recovery, "no frame after the recovery"

    reconnect_s = recovered_at.timestamp() - back_at
    print(f"reconnected {reconnect_s:.2f} s after the RTSP server came back")
    assert reconnect_s < 5, f"reconnected {reconnect_s:.2f} s after the server came back"
    health = db.execute("SELECT time, reconnects, quality FROM raw.stream_health WHERE camera_id = %s ORDER BY time",
                        (camera_id,)).fetchall()
    assert sum(reconnects for _, reconnects, _ in health) >= 1, health
    during = [quality for at, _, quality in health if down_at < at <= recovered_at]
    assert during and min(during) == 0, health  # a window without frames scores 0
    assert health[-1][2] > 0  # and the stream is healthy again


def test_full_spool_alarms_keeps_whole_segments_and_exits_5(
    database_url: str, db: psycopg.Connection, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    quota_bytes = 6000
    config = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip)],
                          sink={"spool_quota_mb": quota_bytes / 1e6})
    # The same database on a port where no server listens: an outage, not another database.
    unreachable = f"postgresql://camcount@127.0.0.1:{free_port()}/{conninfo_to_dict(database_url)['dbname']}"
    result = run_camcount("worker", "run", "--config", str(config), timeout=60,
                          env={"CAMCOUNT_DATABASE_URL": unreachable, "CAMCOUNT_HOME": str(tmp_path / "home")})

    assert result.returncode == 5, result.stdout + result.stderr  # README: "the spool was full"
    assert "Traceback" not in result.stderr
    assert "ALARM: spool quota of" in result.stderr and "rows dropped so far" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "dropped because the spool was full" in errors[0], result.stderr
    assert f"frames processed: {camera_id}: 300" in result.stdout  # counting went on regardless
    spool = worker_spool_dir(tmp_path / "home" / "spool", [camera_id])
    segments = sorted(spool.glob("*.jsonl"))
    assert segments and sum(p.stat().st_size for p in segments) <= quota_bytes
    assert not list(spool.glob("*.tmp"))
    kept = Counter(json.loads(line)[0] for p in segments for line in p.read_text().splitlines()[1:])
    # Not corrupt: once the database is back, the kept segments replay completely.
    sink = EventSink(database_url, tmp_path / "home", spool)
    sink.close()
    assert sink.stats.error() is None and not list(spool.glob("*.jsonl"))
    count = sql.SQL("SELECT count(*) FROM {} WHERE camera_id = %s")
    in_db = sum(db.execute(count.format(sql.Identifier("raw", table)), (camera_id,)).fetchone()[0]
                for table in kept if table != "platform_events")
    assert in_db == sum(n for table, n in kept.items() if table != "platform_events") > 0


class _GarbageHandler(socketserver.BaseRequestHandler):
    """Answers any connection with its server's preamble, then random bytes until it hangs up."""

    def handle(self) -> None:
        server: GarbageServer = self.server  # type: ignore[assignment]
        self.request.settimeout(1)
        try:
            self.request.recv(4096)  # the client's request, whatever it is
            self.request.sendall(server.preamble)
            while not server.stopping.is_set():
                self.request.sendall(server.part_header + os.urandom(4096) + b"\r\n")
                server.stopping.wait(0.05)
        except OSError:
            pass  # the client gave up on us: what it should do


class GarbageServer(socketserver.ThreadingTCPServer):
    """A loopback TCP server that speaks just enough of a protocol to look like a camera."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, scheme: str) -> None:
        super().__init__(("127.0.0.1", 0), _GarbageHandler)
        self.scheme = scheme
        self.stopping = threading.Event()
        if scheme == "http":  # a valid MJPEG response whose JPEG parts are random bytes
            self.preamble = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n"
            self.part_header = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 4096\r\n\r\n"
        else:  # junk where an RTSP reply should be
            self.preamble, self.part_header = b"", b""

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}/stream"

    def __enter__(self) -> GarbageServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def test_broken_inputs_are_skipped_recorded_and_the_rest_is_counted(
    database_url: str, db: psycopg.Connection, short_clip: Path, short_reference: Counter, tmp_path: Path,
    camera_id: str,
) -> None:
    truncated = tmp_path / "truncated.avi"
    data = short_clip.read_bytes()
    truncated.write_bytes(data[: len(data) * 7 // 10])
    ids = {kind: f"{camera_id}-{kind}" for kind in ("good", "truncated", "mjpeg", "rtsp")}
    with GarbageServer("http") as mjpeg, GarbageServer("rtsp") as rtsp:
        path = write_config(tmp_path / "w.yaml", [
            camera(ids["good"], short_clip), camera(ids["truncated"], truncated),
            camera(ids["mjpeg"], mjpeg.url), camera(ids["rtsp"], rtsp.url),
        ], sources={**FAST_RETRY, "max_outage_s": 4})
        worker = Worker(load_config(path), database_url=database_url, home=tmp_path)
        started = time.monotonic()
        summary = worker.run(threading.Event())
    print(f"run took {time.monotonic() - started:.1f} s; failed: {summary.failed_cameras}")

    assert db_totals(db, ids["good"]) == short_reference  # the good camera is counted as if alone
    assert 0 < summary.frames[ids["truncated"]] < 300
    assert set(summary.failed_cameras) == {ids["mjpeg"], ids["rtsp"]}
    events = Counter(db.execute("SELECT camera_id, kind FROM raw.platform_events WHERE camera_id = ANY(%s)",
                                (list(ids.values()),)).fetchall())
    assert events[(ids["truncated"], "frame_corrupt")] == 1
    for garbage in (ids["mjpeg"], ids["rtsp"]):
        assert events[(garbage, "source_down")] == 1 and events[(garbage, "source_failed")] == 1, events
    # The good camera's only record is its file's end (the offline alert rule reads it)
    assert [kind for camera, kind in events if camera == ids["good"]] == ["source_finished"]

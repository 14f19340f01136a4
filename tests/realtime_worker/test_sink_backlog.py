"""The sink backlog (rows the database does not hold yet: in memory plus spooled) is published by
the worker in raw.stream_health.sink_backlog and as camcount_sink_backlog_rows on /metrics: the
queue that grows while the database is away (queue_depth is only the capture buffer)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from bench.harness.worker_configs import camera, write_config
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.db.schema import RAW_TABLES
from realtime_worker.config import load_config
from realtime_worker.runner import Worker
from realtime_worker.sink import EventSink
from realtime_worker.sink.db import DatabaseIdentity
from realtime_worker.sink.rows import crossing_row
from realtime_worker.sink.spool import Spool
from realtime_worker.types import CrossingEvent, Direction

UNREACHABLE = "postgresql://camcount@127.0.0.1:9/none"


def wait_until(condition, timeout_s: float, message: str) -> None:
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, message
        time.sleep(0.1)


def crossings(camera_id: str, n: int) -> list:
    return [crossing_row(CrossingEvent(camera_id, "door", i, Direction.IN, "person", 0.9, 1.764e9 + i), "run-1")
            for i in range(n)]


def metric(body: str, name: str) -> float:
    return float(next(line for line in body.splitlines() if line.startswith(f"{name} ")).split()[1])


def test_backlog_counts_rows_in_memory_and_in_the_spool(tmp_path: Path, camera_id: str) -> None:
    sink = EventSink(UNREACHABLE, tmp_path, tmp_path / "spool", flush_interval_s=0.1, retry_interval_s=60)
    sink.put(crossings(camera_id, 30))
    assert sink.backlog_rows() == 30  # not flushed yet: all in memory
    sink.start()
    wait_until(lambda: sink.stats.spooled_rows >= 30, 10, "the rows were not spooled")
    sink.put(crossings(camera_id, 5))
    # The spool holds the 30 rows and the database_unreachable event; 5 more may still be in memory.
    wait_until(lambda: sink.stats.spooled_rows == 36, 10, "the later rows were not spooled")
    assert sink.backlog_rows() == 36 == Spool(tmp_path / "spool", 10**9).rows_waiting()
    sink.close()


def test_worker_publishes_its_backlog_in_stream_health_and_metrics_through_an_outage(
    scratch_cluster: Cluster, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    url = scratch_cluster.recreate_database("sink_backlog")
    migrate(url)
    live = camera(camera_id, short_clip, playback="native", loop=True, start_at=None)
    config = write_config(tmp_path / "w.yaml", [live], health={"interval_s": 1.0, "metrics_port": 0},
                          sink={"retry_interval_s": 0.5})
    worker = Worker(load_config(config), database_url=url, home=tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    scrape = lambda: urllib.request.urlopen(  # noqa: E731
        f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5).read().decode()
    try:
        wait_until(lambda: worker.metrics_port and worker.sink.stats.written_rows > 0, 30, "nothing written")
        scratch_cluster.stop()
        try:
            wait_until(lambda: metric(scrape(), "camcount_sink_backlog_rows") >= 20, 30,
                       "the backlog never showed on /metrics while the database was down")
        finally:
            scratch_cluster.start()
        wait_until(lambda: worker.sink.backlog_rows() < 20 and worker.sink.stats.database_up, 30,
                   "the spool was not replayed")
        time.sleep(2.5)  # a health sample or two after the replay
        assert metric(scrape(), "camcount_sink_backlog_rows") < 20
    finally:
        stop.set()
        thread.join(30)
    with psycopg.connect(url) as conn:
        backlog = [n for (n,) in conn.execute(
            "SELECT sink_backlog FROM raw.stream_health WHERE camera_id = %s ORDER BY time", (camera_id,))]
    assert None not in backlog and len(backlog) >= 5, backlog
    assert max(backlog) >= 20, backlog  # sampled during the outage, written once it ended
    assert backlog[-1] < 20, backlog  # drained


def test_rows_spooled_before_the_column_existed_replay_with_null(
    scratch_cluster: Cluster, tmp_path: Path, camera_id: str
) -> None:
    """A worker upgraded with rows in its spool replays them: the new column is NULL there."""
    url = scratch_cluster.recreate_database("sink_backlog_legacy")
    migrate(url)
    spool = tmp_path / "spool"
    spool.mkdir()
    old_columns = len(RAW_TABLES["stream_health"].columns) - 1
    legacy = [1.764e9, camera_id, 10, 10, 0, 1, 2, 30, 40, 50, 60, None, 3, 0, 1, 0.9]
    assert len(legacy) == old_columns
    header = {"database": DatabaseIdentity(None, "sink_backlog_legacy").to_json(), "rows": 1}
    (spool / "000000000001.jsonl").write_text(json.dumps(header) + "\n" + json.dumps(["stream_health", legacy]) + "\n")
    sink = EventSink(url, tmp_path, spool)
    sink.close()
    assert sink.stats.error() is None, sink.stats
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT queue_depth, quality, sink_backlog FROM raw.stream_health WHERE camera_id = %s",
                            (camera_id,)).fetchall() == [(1, pytest.approx(0.9), None)]
    with pytest.raises(ValueError, match="values for the"):
        RAW_TABLES["stream_health"].widen(legacy[:-1])

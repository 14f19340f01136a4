"""The sink against a real TimescaleDB that goes away: spool, replay in order, exactly once."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from realtime_worker.sink import EventSink
from realtime_worker.sink.rows import crossing_row
from realtime_worker.types import CrossingEvent, Direction

T0 = 1_764_000_000.0


@pytest.fixture(scope="module")
def scratch_url(scratch_cluster: Cluster) -> str:
    url = scratch_cluster.recreate_database("sink_test")
    migrate(url)
    return url


def crossings(camera_id: str, n: int, start: int = 0):
    return [crossing_row(CrossingEvent(camera_id, "door", i, Direction.IN if i % 2 else Direction.OUT,
                                       "person", 0.9, T0 + i), "run-1") for i in range(start, start + n)]


def count(url: str, camera_id: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM raw.crossing_events WHERE camera_id = %s", (camera_id,)).fetchone()[0]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout_s} s"
        time.sleep(0.05)


def test_replayed_rows_insert_nothing_twice(scratch_url: str, tmp_path: Path, camera_id: str) -> None:
    sink = EventSink(scratch_url, tmp_path, tmp_path / "spool", flush_interval_s=0.1).start()
    sink.put(crossings(camera_id, 50))
    sink.put(crossings(camera_id, 50))  # the same events again, as after a restart
    sink.close()
    assert count(scratch_url, camera_id) == 50
    assert sink.stats.inserted["crossing_events"] == 50


def test_database_outage_spools_then_replays_everything(
    scratch_cluster: Cluster, scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    started = time.time()
    sink = EventSink(scratch_url, tmp_path, tmp_path / "spool", flush_interval_s=0.1, retry_interval_s=0.3).start()
    sink.put(crossings(camera_id, 100))
    wait_until(lambda: count(scratch_url, camera_id) == 100, 10, "the first rows were not written")
    scratch_cluster.stop()
    try:
        for batch in range(5):  # rows keep coming while the database is down
            sink.put(crossings(camera_id, 100, start=100 * (batch + 1)))
            time.sleep(0.3)
        assert not sink.stats.database_up
        assert sink.stats.spool_segments >= 1
    finally:
        scratch_cluster.start()
    wait_until(lambda: count(scratch_url, camera_id) == 600, 20, "the spool was not replayed")
    sink.close()
    assert sink.stats.spooled_rows >= 500 and sink.stats.dropped_rows == 0
    assert sink.stats.error() is None
    with psycopg.connect(scratch_url) as conn:  # the sink's own life, in order (issue 11)
        kinds = [kind for (kind,) in conn.execute(
            "SELECT kind FROM raw.platform_events WHERE time >= to_timestamp(%s) ORDER BY time", (started,))]
    assert kinds == ["database_unreachable", "database_reachable", "spool_replay_started", "spool_replay_finished"]


def test_spool_over_quota_alarms_and_keeps_segments_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, camera_id: str
) -> None:
    unreachable = "postgresql://camcount@127.0.0.1:9/none"
    spool = tmp_path / "spool"
    sink = EventSink(unreachable, tmp_path, spool, flush_interval_s=0.05, spool_quota_bytes=20_000).start()
    with caplog.at_level(logging.ERROR):
        for batch in range(20):
            sink.put(crossings(camera_id, 20, start=20 * batch))
            time.sleep(0.1)
        sink.close()
    assert sink.stats.dropped_rows > 0
    assert "ALARM" in caplog.text and "spool quota" in caplog.text
    kept = sorted(spool.glob("*.jsonl"))
    assert kept and sum(p.stat().st_size for p in kept) <= 20_000
    for segment in kept:  # every kept segment is whole, valid JSON
        header, *rows = segment.read_text().splitlines()
        assert json.loads(header)["rows"] == len(rows)
        assert all(json.loads(line)[0] in ("crossing_events", "platform_events") for line in rows)
    assert not list(spool.glob("*.tmp"))


def test_spool_full_alarm_reaches_the_database_once_it_is_back(
    scratch_cluster: Cluster, scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    """The spool-full alarm is kept in memory while the spool cannot take it, so the database
    learns of the loss; every produced row is either written or counted as dropped."""
    started = time.time()
    sink = EventSink(scratch_url, tmp_path, tmp_path / "spool", flush_interval_s=0.05, retry_interval_s=0.2,
                     spool_quota_bytes=6_000).start()
    sink.put(crossings(camera_id, 10))
    wait_until(lambda: count(scratch_url, camera_id) == 10, 10, "the first rows were not written")
    scratch_cluster.stop()
    try:
        for batch in range(10):
            sink.put(crossings(camera_id, 20, start=10 + 20 * batch))
            time.sleep(0.1)
        assert sink.stats.dropped_rows > 0
    finally:
        scratch_cluster.start()
    sink.close()
    assert count(scratch_url, camera_id) + sink.stats.dropped_rows == 210
    with psycopg.connect(scratch_url) as conn:
        full = conn.execute("SELECT severity, message FROM raw.platform_events WHERE kind = 'spool_full' "
                            "AND time >= to_timestamp(%s)", (started,)).fetchall()
    assert len(full) == 1 and full[0][0] == "error" and "spool quota" in full[0][1]

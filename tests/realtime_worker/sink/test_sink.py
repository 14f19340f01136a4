"""The sink against a real TimescaleDB that goes away: spool, replay in order, exactly once."""

from __future__ import annotations

import json
import logging
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


def test_replayed_rows_insert_nothing_twice(scratch_url: str, tmp_path: Path, camera_id: str) -> None:
    sink = EventSink(scratch_url, tmp_path / "spool", flush_interval_s=0.1).start()
    sink.put(crossings(camera_id, 50))
    sink.put(crossings(camera_id, 50))  # the same events again, as after a restart
    assert sink.drain(10)
    sink.close()
    assert count(scratch_url, camera_id) == 50
    assert sink.inserted["crossing_events"] == 50


def test_database_outage_spools_then_replays_everything(
    scratch_cluster: Cluster, scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    sink = EventSink(scratch_url, tmp_path / "spool", flush_interval_s=0.1, retry_interval_s=0.3).start()
    sink.put(crossings(camera_id, 100))
    assert sink.drain(10)
    scratch_cluster.stop()
    try:
        for batch in range(5):  # rows keep coming while the database is down
            sink.put(crossings(camera_id, 100, start=100 * (batch + 1)))
            sink.drain(0.3)
        assert not sink.database_up
        assert sink.spool_segments >= 1
    finally:
        scratch_cluster.start()
    assert sink.drain(20), "spool was not replayed after the database came back"
    sink.close()
    assert count(scratch_url, camera_id) == 600
    assert sink.spooled_rows == 500 and sink.dropped_rows == 0


def test_spool_over_quota_alarms_and_keeps_segments_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, camera_id: str
) -> None:
    unreachable = "postgresql://camcount@127.0.0.1:9/none"
    spool = tmp_path / "spool"
    sink = EventSink(unreachable, spool, flush_interval_s=0.05, spool_quota_bytes=20_000).start()
    with caplog.at_level(logging.ERROR):
        for batch in range(20):
            sink.put(crossings(camera_id, 20, start=20 * batch))
            sink.drain(0.1)
        sink.close()
    assert sink.dropped_rows > 0
    assert "ALARM" in caplog.text and "spool quota" in caplog.text
    kept = sorted(spool.glob("*.jsonl"))
    assert kept and sum(p.stat().st_size for p in kept) <= 20_000
    for segment in kept:  # every kept segment is whole, valid JSON
        assert all(json.loads(line)[0] == "crossing_events" for line in segment.read_text().splitlines())
    assert not list(spool.glob("*.tmp"))

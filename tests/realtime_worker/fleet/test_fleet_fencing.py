"""Fencing in the sink: rows stamped before their lease ended are written, rows stamped after it
are quarantined with an alarm, in the write's own transaction; a spool replayed after a partition
is split by the same rule."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg

from realtime_worker.fleet import fencing
from realtime_worker.fleet.config import apply_file
from realtime_worker.fleet.leases import LeaseStore
from realtime_worker.sink import EventSink
from realtime_worker.sink.db import DatabaseIdentity
from realtime_worker.sink.rows import LeaseStamp, TableRow, crossing_row
from realtime_worker.sink.spool import Spool
from realtime_worker.types import CrossingEvent, Direction
from tests.realtime_worker.fleet.conftest import fleet_file


def crossing(camera: str, at: float, track: int, lease: LeaseStamp | None) -> TableRow:
    row = crossing_row(CrossingEvent(camera, "door", track, Direction.IN, "person", 0.9, at), "run")
    return TableRow(row.table, row.values, lease)


def written(db: psycopg.Connection, camera: str) -> set[int]:
    return {track for (track,) in db.execute("SELECT track_id FROM raw.crossing_events WHERE camera_id = %s",
                                             (camera,)).fetchall()}


def claim(url: str, camera: str) -> LeaseStore:
    leases = LeaseStore(psycopg.connect(url, autocommit=True), "fence-test", host="t", version="t", capacity=8)
    leases.join()
    leases.tick({camera})
    assert camera in leases.held
    return leases


def test_rows_stamped_after_their_lease_ended_are_quarantined(fleet_url: str, fleet_db: psycopg.Connection,
                                                              tmp_path: Path) -> None:
    camera = "fence-cam"
    apply_file(fleet_db, fleet_file(tmp_path / "fleet.yaml", [camera]))
    leases = claim(fleet_url, camera)
    epoch = leases.held[camera].epoch
    now = leases.database_now()
    sink = EventSink(fleet_url, tmp_path, tmp_path / "spool", fence=fencing.fence).start()
    try:
        sink.put([crossing(camera, now, 1, LeaseStamp(epoch, now)),  # under a live lease
                  crossing(camera, now, 2, None)])  # not stamped (a single-box worker's row)
        time.sleep(1.5)
        leases.release([camera])
        ended = leases.database_now()
        sink.put([crossing(camera, now, 3, LeaseStamp(epoch, ended - 1.0)),  # counted before the release
                  crossing(camera, now, 4, LeaseStamp(epoch, ended + 1.0)),  # a zombie's, after it
                  crossing(camera, now, 5, LeaseStamp(epoch + 7, now))])  # an epoch never granted
    finally:
        sink.close()
        leases.conn.close()
    assert written(fleet_db, camera) == {1, 2, 3}
    assert sink.stats.fenced_rows == 2 and sink.stats.inserted["crossing_events"] == 3
    assert "lease had expired" in str(sink.stats.error())
    [segment] = (tmp_path / "quarantine").rglob("*.jsonl")
    assert sorted(row.values[5] for row in Spool(segment.parent, 2**30).read(segment).rows) == [4, 5]
    alarm = fleet_db.execute("SELECT details FROM raw.platform_events WHERE kind = 'rows_fenced' "
                             "AND details->'cameras' ? %s", (camera,)).fetchone()
    assert alarm is not None and alarm[0]["rows"] == 2


def test_a_zombies_spool_is_split_on_reconnect(fleet_url: str, fleet_db: psycopg.Connection, tmp_path: Path) -> None:
    """Rows spooled while cut off replay through the fence: those counted before the lease ended
    land, the rest are quarantined."""
    camera = "zombie-cam"
    apply_file(fleet_db, fleet_file(tmp_path / "fleet.yaml", [camera]))
    leases = claim(fleet_url, camera)
    epoch, ended = leases.held[camera].epoch, leases.held[camera].expires_at
    leases.conn.close()  # cut off: the lease runs out, never renewed
    spool_dir = tmp_path / "spool"
    Spool(spool_dir, 2**30).append(
        [crossing(camera, ended - 5, 10, LeaseStamp(epoch, ended - 5)),
         crossing(camera, ended + 5, 11, LeaseStamp(epoch, ended + 5))],
        DatabaseIdentity.of_url(fleet_url))
    line = json.loads((next(spool_dir.glob("*.jsonl"))).read_text().splitlines()[1])
    assert line[2] == [epoch, ended - 5], "the stamp travels with the row, not as a column"
    sink = EventSink(fleet_url, tmp_path, spool_dir, fence=fencing.fence).start()
    time.sleep(1.5)
    sink.close()
    assert written(fleet_db, camera) == {10}
    assert sink.stats.fenced_rows == 1 and not list(spool_dir.glob("*.jsonl"))

"""A stop never invents events: after any stop (a clean SIGINT, or SIGKILL), a rerun of the file
leaves exactly the rows of one clean run in every raw table (count/zones.py, "When a stream ends")."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bench.harness.worker_configs import camera, write_config
from tests.realtime_worker.conftest import SHORT_REFERENCE_CAMERA
from tests.realtime_worker.test_faults import start_worker, wait_for_rows

pytestmark = pytest.mark.fault

# Every column but the camera and the ids made from it: what a count is.
COUNTED = {
    "crossing_events": ("time", "line_id", "track_id", "direction", "class_name", "confidence"),
    "zone_events": ("time", "zone_id", "track_id", "transition", "class_name", "dwell_s"),
    "zone_occupancy": ("time", "zone_id", "class_name", "occupancy"),
}


def counted_rows(db: psycopg.Connection, camera_id: str) -> dict[str, Counter[tuple]]:
    query = "SELECT {} FROM {} WHERE camera_id = %s"
    return {
        table: Counter(db.execute(sql.SQL(query).format(sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                        sql.Identifier("raw", table)), (camera_id,)).fetchall())
        for table, columns in COUNTED.items()
    }


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_a_stop_then_a_rerun_leaves_exactly_the_rows_of_one_clean_run(
    stop: signal.Signals, database_url: str, db: psycopg.Connection, short_clip: Path, short_reference: Counter,
    tmp_path: Path, camera_id: str,
) -> None:
    reference = counted_rows(db, SHORT_REFERENCE_CAMERA)
    live = write_config(tmp_path / "live.yaml", [camera(camera_id, short_clip, playback="native")])
    worker = start_worker(live, tmp_path / "home", database_url)
    wait_for_rows(db, camera_id)
    time.sleep(6)
    worker.send_signal(stop)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == (0 if stop == signal.SIGINT else -signal.SIGKILL), output  # SIGINT: flushed
    stopped = counted_rows(db, camera_id)
    assert stopped["zone_events"].total() < reference["zone_events"].total(), "the stop came too late"
    for table, rows in stopped.items():  # nothing made up at the stop: no exit, no partial second
        assert rows <= reference[table], (table, rows - reference[table])

    rerun = start_worker(write_config(tmp_path / "fast.yaml", [camera(camera_id, short_clip)]), tmp_path / "home",
                         database_url)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output
    assert counted_rows(db, camera_id) == reference

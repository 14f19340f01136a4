"""Fleet alerts: a camera unowned for more than 60 s and a worker that stopped heartbeating open
an alert; both resolve on recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from camcount_pipelines.alerts import rules
from realtime_worker.fleet.config import apply_file
from realtime_worker.fleet.leases import LeaseStore
from tests.realtime_worker.fleet.conftest import fleet_file


def active(conn: psycopg.Connection) -> set[tuple[str, str]]:
    return set(conn.execute("SELECT rule, subject FROM ops.alerts WHERE resolved_at IS NULL "
                            "AND rule IN ('camera_unowned', 'worker_silent')").fetchall())


def evaluate(conn: psycopg.Connection) -> None:
    rules.apply(conn, *rules.evaluate(conn, rules.AlertRules(), datetime.now(UTC)))


def test_unowned_camera_and_silent_worker_alert_then_resolve(fleet_url: str, fleet_db: psycopg.Connection,
                                                             tmp_path: Path) -> None:
    apply_file(fleet_db, fleet_file(tmp_path / "fleet.yaml", ["al-1"]))
    fleet_db.execute("DELETE FROM ops.workers")
    evaluate(fleet_db)
    assert active(fleet_db) == set(), "a camera applied a moment ago is not yet overdue"

    fleet_db.execute("UPDATE ops.cameras SET updated_at = now() - interval '2 minutes' WHERE camera_id = 'al-1'")
    fleet_db.execute("INSERT INTO ops.workers (worker_id, host, version, capacity, heartbeat_at) "
                     "VALUES ('gone', 'h', 'v', 4, now() - interval '5 minutes')")
    evaluate(fleet_db)
    assert active(fleet_db) == {("camera_unowned", "al-1"), ("worker_silent", "gone")}

    leases = LeaseStore(psycopg.connect(fleet_url, autocommit=True), "gone", host="h", version="v", capacity=4)
    try:
        leases.join()
        leases.tick({"al-1"})
        evaluate(fleet_db)
        assert active(fleet_db) == set(), "claimed again, heartbeating again: both resolve"
    finally:
        leases.leave()
        leases.conn.close()

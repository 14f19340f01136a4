"""Leases: the pure assignment, then the protocol against the database (claim, renew, expire,
take over, release), with short leases."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from realtime_worker.fleet.config import apply_file
from realtime_worker.fleet.leases import FleetView, LeaseStore, assign, plan, rendezvous_ranking
from tests.realtime_worker.fleet.conftest import fleet_file

CAMERAS = [f"cam-{i:02d}" for i in range(12)]


def test_removing_a_worker_keeps_the_others_order() -> None:
    workers = ["w1", "w2", "w3", "w4"]
    for camera in CAMERAS:
        ranking = rendezvous_ranking(camera, workers)
        assert rendezvous_ranking(camera, [w for w in workers if w != ranking[0]]) == ranking[1:]


def test_a_joining_worker_moves_fewer_than_half_the_cameras() -> None:
    before = assign(CAMERAS, {"w1": 8, "w2": 8, "w3": 8})
    after = assign(CAMERAS, {"w1": 8, "w2": 8, "w3": 8, "w4": 8})
    moved = [camera for camera in CAMERAS if before[camera] != after[camera]]
    assert set(before) == set(after) == set(CAMERAS)
    assert 0 < len(moved) < len(CAMERAS) / 2
    assert all(after[camera] == "w4" for camera in moved), "only the newcomer's cameras move"


def test_capacity_is_respected_and_overflow_is_left_unowned() -> None:
    assignment = assign(CAMERAS, {"w1": 3, "w2": 4})
    assert len(assignment) == 7
    assert sum(worker == "w1" for worker in assignment.values()) == 3


def test_plan_releases_what_is_assigned_elsewhere_and_claims_only_free_eligible_cameras() -> None:
    capacities = {"w1": 8, "w2": 8}
    assignment = assign(CAMERAS, capacities)
    mine = sorted(c for c, w in assignment.items() if w == "w1")
    theirs = sorted(c for c, w in assignment.items() if w == "w2")
    holders = {camera: None for camera in CAMERAS} | {theirs[0]: "w1", mine[0]: "w2"}
    release, claim = plan(FleetView(capacities, holders), "w1", [theirs[0]], eligible=set(CAMERAS) - {mine[1]})
    assert release == [theirs[0]]
    assert claim == sorted(set(mine) - {mine[0], mine[1]})


def store(url: str, worker: str, capacity: int, ttl_s: float) -> LeaseStore:
    leases = LeaseStore(psycopg.connect(url, autocommit=True), worker, host="test", version="test",
                        capacity=capacity, ttl_s=ttl_s)
    leases.join()
    return leases


def owners(db: psycopg.Connection) -> dict[str, str | None]:
    return dict(db.execute("SELECT camera_id, CASE WHEN expires_at > now() THEN worker_id END "
                           "FROM ops.camera_leases ORDER BY 1").fetchall())


def test_claim_renew_expire_take_over_and_release(fleet_url: str, fleet_db: psycopg.Connection,
                                                  tmp_path: Path) -> None:
    apply_file(fleet_db, fleet_file(tmp_path / "fleet.yaml", CAMERAS[:6]))
    eligible = set(CAMERAS[:6])
    a, b = store(fleet_url, "a", 6, ttl_s=2.0), store(fleet_url, "b", 6, ttl_s=2.0)
    try:
        for _ in range(2):  # the second round: each sees the other alive and settles on the assignment
            a.tick(eligible)
            b.tick(eligible)
        held = owners(fleet_db)
        assert set(held.values()) == {"a", "b"} and None not in held.values()
        assert set(a.held) | set(b.held) == eligible and not set(a.held) & set(b.held)
        epochs = {camera: lease.epoch for camera, lease in a.held.items()}

        gained = []  # a stops renewing: its leases expire, its heartbeat goes stale; b keeps ticking
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            gained += b.tick(eligible).gained
            time.sleep(0.5)
        assert set(b.held) == eligible
        assert {lease.camera_id for lease in gained} == set(epochs), "b's own leases were renewed, not reclaimed"
        assert all(b.held[camera].epoch == epochs[camera] + 1 for camera in epochs), "a claim bumps the epoch"
        history = dict(fleet_db.execute("SELECT camera_id, epoch FROM ops.camera_lease_history "
                                        "WHERE worker_id = 'a'").fetchall())
        assert history == epochs

        assert a.tick(eligible).lost == sorted(epochs), "the paused worker learns it lost them"
        b.leave()
        assert set(owners(fleet_db).values()) == {None}
        assert fleet_db.execute("SELECT count(*) FROM ops.workers WHERE worker_id = 'b'").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.RaiseException, match="expired, it cannot be renewed"):
            fleet_db.execute("UPDATE ops.camera_leases SET expires_at = now() + interval '1 hour' "
                             "WHERE camera_id = %s", (CAMERAS[0],))
        with pytest.raises(psycopg.errors.RaiseException, match="may not go back"):
            fleet_db.execute("UPDATE ops.camera_leases SET epoch = epoch - 1 WHERE camera_id = %s", (CAMERAS[0],))
    finally:
        a.conn.close()
        b.conn.close()


def test_two_workers_racing_for_the_same_cameras_never_share_one(fleet_url: str, fleet_db: psycopg.Connection,
                                                                 tmp_path: Path) -> None:
    apply_file(fleet_db, fleet_file(tmp_path / "fleet.yaml", CAMERAS))
    fleet_db.execute("DELETE FROM ops.workers")
    stores = [store(fleet_url, f"r{i}", 12, ttl_s=5.0) for i in range(3)]
    try:
        for _ in range(3):
            for leases in stores:
                leases.tick(set(CAMERAS))
                held = [camera for s in stores for camera in s.held]
                assert len(held) == len(set(held)), "a camera held by two workers"
        assert sorted(camera for s in stores for camera in s.held) == CAMERAS
    finally:
        for leases in stores:
            leases.leave()
            leases.conn.close()

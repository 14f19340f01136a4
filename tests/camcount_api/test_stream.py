"""The crossings stream: ingest order, resumable with Last-Event-ID while the worker writes (none
lost, none twice), and a row whose transaction commits late is delivered, never skipped."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from camcount.db.roles import WORKER_ROLE
from camcount_api.config import ApiConfig
from realtime_worker.types import Direction
from tests.camcount_api.conftest import Api, crossing, register, running_api, write_crossings
from tests.security.conftest import enable_login


def read_events(api: Api, camera_id: str, limit: int, last_event_id: int | None = None,
                timeout_s: float = 20) -> list[dict]:
    """Up to `limit` crossing events of one camera, then disconnect."""
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    events: list[dict] = []
    deadline = time.monotonic() + timeout_s
    with contextlib.suppress(httpx.ReadTimeout), httpx.stream(
            "GET", f"{api.url}/api/v1/crossings/stream", params={"camera": camera_id}, headers=headers,
            timeout=timeout_s) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                continue
            if fields.get("event") == "crossing":
                event = json.loads(fields["data"])
                assert int(fields["id"]) == event["seq"]
                events.append(event)
            fields = {}
            if len(events) >= limit or time.monotonic() > deadline:
                break
    return events


def ingest_order(db: psycopg.Connection, camera_id: str) -> list[str]:
    return [str(event_id) for (event_id,) in db.execute(
        "SELECT event_id FROM raw.crossing_events WHERE camera_id = %s ORDER BY ingest_seq", (camera_id,))]


def test_resuming_with_last_event_id_misses_nothing_and_repeats_nothing(
    api_config: ApiConfig, database_url: str, db: psycopg.Connection, camera_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register(database_url, "api-stream", "UTC", [camera_id])
    start = db.execute("SELECT raw.ingest_high_watermark()").fetchone()[0]
    now = time.time()
    # Written before the server starts: older than its memory, so a resume reads them from the database.
    write_crossings(database_url, [crossing(camera_id, now - 60 + i) for i in range(25)])
    worker_url = enable_login(database_url, WORKER_ROLE, monkeypatch)

    def worker() -> None:  # the worker's sink, as camcount_worker: small batches every 50 ms
        for batch in range(40):
            write_crossings(worker_url, [crossing(camera_id, time.time(), track_id=batch * 10 + i)
                                         for i in range(1 + batch % 3)])
            time.sleep(0.05)

    expected_total = 25 + sum(1 + batch % 3 for batch in range(40))
    with running_api(api_config) as api:
        writer = threading.Thread(target=worker)
        writer.start()
        received: list[dict] = []
        last = start
        deadline = time.monotonic() + 60
        while len(received) < expected_total and time.monotonic() < deadline:
            batch = read_events(api, camera_id, limit=7, last_event_id=last, timeout_s=5)  # then drop the connection
            received += batch
            last = batch[-1]["seq"] if batch else last
        writer.join()

    seqs = [event["seq"] for event in received]
    assert seqs == sorted(set(seqs)), "ingest order, each crossing once"
    assert [event["event_id"] for event in received] == ingest_order(db, camera_id)
    assert len(received) == expected_total


def test_a_crossing_committed_late_is_delivered_in_ingest_order(
    api: Api, database_url: str, db: psycopg.Connection, camera_id: str
) -> None:
    """A transaction takes its ingest_seq when it inserts, not when it commits: a later seq can be
    visible first. The stream waits at the ingest barrier instead of skipping the earlier one."""
    register(database_url, "api-stream", "UTC", [camera_id])
    received: list[dict] = []
    client = threading.Thread(target=lambda: received.extend(read_events(api, camera_id, limit=2, timeout_s=30)))
    client.start()
    time.sleep(1.0)  # the client is connected and waits for new crossings
    slow = psycopg.connect(database_url)
    try:
        slow.execute(
            """INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id, direction,
                                                class_name, confidence)
               VALUES (now(), %s, %s, 'centre', 'slow', 1, 'in', 'person', 0.9)""", (uuid.uuid4(), camera_id))
        write_crossings(database_url, [crossing(camera_id, time.time(), track_id=2)])  # a later seq, committed first
        time.sleep(1.5)
        assert received == [], "nothing is delivered past an uncommitted seq"
        slow.commit()
    finally:
        slow.close()
    client.join(30)
    assert [event["event_id"] for event in received] == ingest_order(db, camera_id)
    assert len(received) == 2


def test_a_new_client_gets_only_new_crossings(api: Api, database_url: str, camera_id: str) -> None:
    register(database_url, "api-stream", "UTC", [camera_id])
    write_crossings(database_url, [crossing(camera_id, time.time() - 5)])  # history: not replayed
    received: list[dict] = []
    client = threading.Thread(target=lambda: received.extend(read_events(api, camera_id, limit=1, timeout_s=20)))
    client.start()
    time.sleep(1.0)
    write_crossings(database_url, [crossing(camera_id, time.time(), direction=Direction.OUT)])
    client.join(20)
    assert [(e["camera_id"], e["line_id"], e["direction"]) for e in received] == [(camera_id, "centre", "out")]

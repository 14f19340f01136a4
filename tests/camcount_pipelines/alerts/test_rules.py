"""Every alert rule fires and resolves (issue 11: the queue rule could never fire, and four rules
had no test). The rules run on a clock of their own (`now`) in a database of this module's own,
so each test sees exactly the alerts it provokes; the alert sensor runs the same two functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from camcount_pipelines.alerts import rules
from tests.conftest import private_database


@pytest.fixture(scope="module")
def alerts_db(database_url: str) -> Iterator[psycopg.Connection]:
    with private_database("camcount_test_alert_rules") as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO ops.sites (site_id, name, timezone) VALUES ('alerts', 'A', 'UTC')")
        yield conn


@pytest.fixture
def camera(alerts_db: psycopg.Connection) -> str:
    camera_id = f"cam-{uuid.uuid4().hex[:8]}"
    alerts_db.execute("INSERT INTO ops.cameras (camera_id, site_id, name, source_kind) "
                      "VALUES (%s, 'alerts', 'c', 'rtsp')", (camera_id,))
    return camera_id


def health(db: psycopg.Connection, camera: str, start: datetime, end: datetime, *, ingest_ms: float = 200,
           e2e_ms: float = 120, backlog: int | None = 0, queue: int = 2) -> None:
    """A sample every 10 s in [start, end), as the worker writes them."""
    times = [start + timedelta(seconds=s) for s in range(0, int((end - start).total_seconds()), 10)]
    with db.cursor() as cur:
        cur.executemany(
            """INSERT INTO raw.stream_health (time, camera_id, input_fps, processed_fps, dropped_frames, e2e_ms_p95,
                                              queue_depth, quality, sink_backlog, ingested_at)
               VALUES (%s, %s, 10, 10, 0, %s, %s, 0.95, %s, %s)""",
            [(t, camera, e2e_ms, queue, backlog, t + timedelta(milliseconds=ingest_ms)) for t in times])


def evaluate(db: psycopg.Connection, now: datetime, **thresholds: Any) -> list[tuple[str, str, str, str]]:
    """One evaluation at `now`: the alerts it opened and resolved."""
    firing, evaluated = rules.evaluate(db, rules.AlertRules(**thresholds), now)
    return [(c.state, c.rule, c.subject, c.severity) for c in rules.apply(db, firing, evaluated)]


def test_ingest_latency_over_a_second_is_a_warning(alerts_db: psycopg.Connection, camera: str) -> None:
    now = datetime(2024, 6, 10, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(seconds=50), now, ingest_ms=2500)  # rows reach the database late
    assert evaluate(alerts_db, now) == [("opened", "ingest_latency", camera, "warning")]
    assert evaluate(alerts_db, now) == []  # still late: the same alert
    health(alerts_db, camera, now, now + timedelta(minutes=2))
    assert evaluate(alerts_db, now + timedelta(minutes=2)) == [("resolved", "ingest_latency", camera, "warning")]


def test_processing_over_five_seconds_is_an_error(alerts_db: psycopg.Connection, camera: str) -> None:
    now = datetime(2024, 6, 12, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(seconds=50), now, e2e_ms=7200)
    assert evaluate(alerts_db, now) == [("opened", "processing_latency", camera, "error")]
    health(alerts_db, camera, now, now + timedelta(minutes=2))
    assert evaluate(alerts_db, now + timedelta(minutes=2)) == [("resolved", "processing_latency", camera, "error")]


def test_a_sink_backlog_over_ten_thousand_rows_is_a_warning(alerts_db: psycopg.Connection, camera: str) -> None:
    """The queue that grows while the database is away is the sink's (in memory plus spooled); the
    capture buffer's queue_depth is a few frames at most, and alone fires nothing."""
    now = datetime(2024, 6, 14, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(minutes=3), now - timedelta(minutes=2), queue=50_000)
    assert evaluate(alerts_db, now - timedelta(minutes=2)) == []
    health(alerts_db, camera, now - timedelta(seconds=50), now, backlog=25_000)
    assert evaluate(alerts_db, now) == [("opened", "sink_backlog", camera, "warning")]
    health(alerts_db, camera, now, now + timedelta(minutes=2), backlog=0)  # the spool replayed
    assert evaluate(alerts_db, now + timedelta(minutes=2)) == [("resolved", "sink_backlog", camera, "warning")]


def test_a_camera_silent_for_five_minutes_is_offline_then_its_gap_shows(
    alerts_db: psycopg.Connection, camera: str
) -> None:
    now = datetime(2024, 6, 16, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(minutes=20), now - timedelta(minutes=10))
    assert evaluate(alerts_db, now) == [("opened", "camera_offline", camera, "error")]
    health(alerts_db, camera, now + timedelta(minutes=1), now + timedelta(minutes=2))  # back
    assert evaluate(alerts_db, now + timedelta(minutes=2)) == [("opened", "data_gap", camera, "warning"),
                                                        ("resolved", "camera_offline", camera, "error")]


def test_a_file_camera_that_played_to_its_end_is_done_not_offline(alerts_db: psycopg.Connection, camera: str) -> None:
    """The worker records `source_finished` when a file ends: its silence after that opens nothing,
    and an offline alert opened before the record came in resolves. Samples after it (the camera
    playing again) make it a camera like any other."""
    now = datetime(2024, 6, 24, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(minutes=20), now - timedelta(minutes=10))
    assert evaluate(alerts_db, now) == [("opened", "camera_offline", camera, "error")]
    alerts_db.execute("""INSERT INTO raw.platform_events (time, event_id, kind, severity, message, camera_id)
                         VALUES (%s, gen_random_uuid(), 'source_finished', 'info', 'played to its end', %s)""",
                      (now - timedelta(minutes=10), camera))
    assert evaluate(alerts_db, now) == [("resolved", "camera_offline", camera, "error")]
    assert evaluate(alerts_db, now + timedelta(hours=1)) == []

    health(alerts_db, camera, now + timedelta(hours=2), now + timedelta(hours=2, minutes=1))  # played again
    assert evaluate(alerts_db, now + timedelta(hours=2, minutes=10)) == [("opened", "camera_offline", camera, "error")]


def test_a_hole_of_over_two_minutes_is_a_data_gap_until_it_leaves_the_hour(
    alerts_db: psycopg.Connection, camera: str
) -> None:
    now = datetime(2024, 6, 18, 12, tzinfo=UTC)
    health(alerts_db, camera, now - timedelta(minutes=10), now - timedelta(minutes=6))
    health(alerts_db, camera, now - timedelta(minutes=3), now)  # a 3-minute hole
    assert evaluate(alerts_db, now) == [("opened", "data_gap", camera, "warning")]
    health(alerts_db, camera, now, now + timedelta(minutes=58))
    assert evaluate(alerts_db, now + timedelta(minutes=58)) == [("resolved", "data_gap", camera, "warning")]


def test_a_platform_error_is_an_error_while_recent(alerts_db: psycopg.Connection, camera: str) -> None:
    now = datetime(2024, 6, 20, 12, tzinfo=UTC)
    alerts_db.execute("""INSERT INTO raw.platform_events (time, event_id, kind, severity, camera_id, message)
                  VALUES (%s, gen_random_uuid(), 'source_failed', 'error', %s, 'gave up')""",
               (now - timedelta(seconds=20), camera))
    assert evaluate(alerts_db, now) == [("opened", "platform_error", camera, "error")]
    assert evaluate(alerts_db, now + timedelta(minutes=2)) == [("resolved", "platform_error", camera, "error")]

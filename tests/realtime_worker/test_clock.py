"""Live frames stamped far from the database's clock raise a health alarm: a platform event and a metric."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from bench.harness.worker_configs import camera, write_config
from realtime_worker.clock import SKEW_ALARM_S, ClockWatch
from realtime_worker.config import load_config
from realtime_worker.runner import Worker
from tests.conftest import write_clip


class DatabaseBehind:
    """A connection whose server's clock reads `behind_s` seconds behind this machine's."""

    def __init__(self, behind_s: float) -> None:
        self.behind_s = behind_s

    def execute(self, _query: str) -> DatabaseBehind:
        return self

    def fetchone(self) -> tuple[float]:
        return (time.time() - self.behind_s,)


def test_one_alarm_per_camera_while_its_frames_are_skewed() -> None:
    watch = ClockWatch()
    assert watch.check("gate", time.time()) == (None, None)  # the database's clock not read yet: no judgement
    watch.sync(DatabaseBehind(600))
    skew, alarm = watch.check("gate", time.time())
    assert skew == pytest.approx(600, abs=1)
    assert alarm is not None and alarm.kind == "clock_skew" and alarm.camera_id == "gate"
    assert "600 s ahead of the database's clock" in alarm.message
    assert watch.check("gate", time.time())[1] is None  # still skewed: no second alarm
    assert watch.check("door", time.time())[1] is not None  # another camera has its own
    assert watch.check("gate", time.time() - 600)[1] is None  # back within the limit...
    assert watch.check("gate", time.time())[1] is not None  # ...so a new skew alarms again
    watch.sync(DatabaseBehind(SKEW_ALARM_S - 10))
    assert watch.check("lobby", time.time())[1] is None


def test_a_skewed_live_camera_raises_a_platform_event_and_a_metric(
    database_url: str, db: psycopg.Connection, sample_video: Path, tmp_path: Path, camera_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sync = ClockWatch.sync

    def sync_ten_minutes_behind(self: ClockWatch, conn: psycopg.Connection) -> None:
        real_sync(self, conn)
        self._offset -= 600  # the database's clock reads 10 minutes behind this machine's

    monkeypatch.setattr(ClockWatch, "sync", sync_ten_minutes_behind)
    clip = write_clip(sample_video, tmp_path / "tiny.avi", 10)
    config = write_config(tmp_path / "w.yaml", [camera(camera_id, clip, loop=True, start_at=None)])
    stop = threading.Event()
    frames = 0

    def stop_after_20(n: int) -> None:
        nonlocal frames
        frames += n
        if frames >= 20:
            stop.set()

    worker = Worker(load_config(config), database_url=database_url, home=tmp_path, on_frames=stop_after_20)
    worker.run(stop)
    events = db.execute("SELECT severity, message FROM raw.platform_events WHERE camera_id = %s AND kind = "
                        "'clock_skew'", (camera_id,)).fetchall()
    assert len(events) == 1 and events[0][0] == "error" and "ahead of the database's clock" in events[0][1], events
    assert worker.metrics.clock_skew.labels(camera_id)._value.get() == pytest.approx(600, abs=5)

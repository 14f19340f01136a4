"""The sink never loses, blocks or misplaces a row silently (issue 10, items 1-3): one owner per
spool, segments bound to their database, unreadable segments quarantined, poison rows
dead-lettered. Real TimescaleDB, real files; each test names the defect it guards against."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from prometheus_client import generate_latest

from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.db.schema import RAW_TABLES
from camcount.errors import SinkError, SpoolError
from realtime_worker.metrics import WorkerMetrics
from realtime_worker.sink import EventSink, quarantine_dir
from realtime_worker.sink.db import BatchWriter, DatabaseIdentity
from realtime_worker.sink.deadletter import DeadLetters, deadletter_dir
from realtime_worker.sink.rows import TableRow, crossing_row, health_row
from realtime_worker.sink.spool import Spool, worker_spool_dir
from realtime_worker.types import CrossingEvent, Direction, HealthSample

T0 = 1_764_100_000.0


@pytest.fixture(scope="module")
def scratch_url(scratch_cluster: Cluster) -> str:
    url = scratch_cluster.recreate_database("sink_reliability")
    migrate(url)
    return url


def identity(url: str) -> DatabaseIdentity:
    with psycopg.connect(url) as conn:
        return DatabaseIdentity(*conn.execute(
            "SELECT system_identifier::text, current_database() FROM pg_control_system()").fetchone())


def crossings(camera_id: str, n: int, start: int = 0) -> list[TableRow]:
    return [crossing_row(CrossingEvent(camera_id, "door", i, Direction.IN if i % 2 else Direction.OUT,
                                       "person", 0.9, T0 + i), "run-1") for i in range(start, start + n)]


def health(camera_id: str, second: int, quality: float = 1.0) -> TableRow:
    return health_row(HealthSample(camera_id, T0 + second, 10.0, 10.0, 0, None, None, None, None, None, None,
                                   None, None, 0, 0, quality))


def rows_in(url: str, table: str, camera_id: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM raw.{table} WHERE camera_id = %s", (camera_id,)).fetchone()[0]


def events(url: str, kind: str, since: float) -> list[tuple[str, str, dict]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT severity, message, details FROM raw.platform_events "
                            "WHERE kind = %s AND time >= to_timestamp(%s)", (kind, since)).fetchall()


def sink(url: str, home: Path, **options) -> EventSink:
    return EventSink(url, home, home / "spool", flush_interval_s=0.1, **options).start()


# -- item 1: one owner per spool, a spool bound to its database ---------------------------------

def test_two_spools_on_one_directory_never_collide(tmp_path: Path, camera_id: str) -> None:
    """Two workers used to number their segments from 1 in one directory and overwrite each other."""
    database = DatabaseIdentity(None, "camcount")
    first, second = Spool(tmp_path, 10**6), Spool(tmp_path, 10**6)
    first.append(crossings(camera_id, 3), database)
    second.append(crossings(camera_id, 4, start=3), database)
    segments = first.segments()
    assert len(segments) == 2
    assert sorted(len(first.read(path).rows) for path in segments) == [3, 4]


def test_a_spool_has_one_owner_and_each_camera_set_its_own_spool(
    scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    root = tmp_path / "spool"
    mine = worker_spool_dir(root, [camera_id, "b"])
    assert mine == worker_spool_dir(root, ["b", camera_id]), "a restarted worker must find its own spool"
    assert mine != worker_spool_dir(root, [camera_id]), "another camera set gets another spool"
    owner = EventSink(scratch_url, tmp_path, mine)
    with pytest.raises(SpoolError, match="in use by another worker") as refused:
        EventSink(scratch_url, tmp_path, mine)
    assert "\n" not in str(refused.value)
    owner.close()
    EventSink(scratch_url, tmp_path, mine).close()  # the lock goes with its owner
    (tmp_path / "a-file").touch()
    with pytest.raises(SpoolError, match=r"cannot use .* as the spool: Not a directory; set sink.spool_dir"):
        EventSink(scratch_url, tmp_path, tmp_path / "a-file" / "spool")


def test_spool_for_another_database_is_refused_and_kept(
    scratch_cluster: Cluster, scratch_url: str, database_url: str, tmp_path: Path, camera_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows spooled for one database were replayed into whichever database the next worker used."""
    here = identity(scratch_url)
    other_server = identity(database_url).system_identifier  # the session's cluster
    assert other_server != here.system_identifier
    spool = Spool(tmp_path / "spool", 10**6)
    spool.append(crossings(camera_id, 5), replace(here, system_identifier=other_server))  # same name, other server
    spool.append(crossings(camera_id, 5, start=5), replace(here, name="another_database"))  # same server
    foreign = {path: path.read_bytes() for path in spool.segments()}
    spool.append(crossings(camera_id, 5, start=10), here)  # this one is meant for this database

    since = T0
    with caplog.at_level(logging.ERROR):
        under_test = sink(scratch_url, tmp_path)
        under_test.put(crossings(camera_id, 5, start=15))
        under_test.close()
    assert rows_in(scratch_url, "crossing_events", camera_id) == 10  # its own segment and the new rows
    assert {path: path.read_bytes() for path in spool.segments()} == foreign, "foreign segments are kept as they were"
    alarms = [r.message for r in caplog.records if "meant for" in r.message]
    assert len(alarms) == 2 and all("kept, not replayed" in line and "\n" not in line for line in alarms)
    assert under_test.stats.refused_segments == 2
    assert isinstance(under_test.stats.error(), SinkError)
    assert len(events(scratch_url, "spool_refused", since)) == 2


# -- item 2: a supervised sink; unreadable segments are quarantined ------------------------------

def test_corrupt_segment_is_quarantined_and_the_rest_replayed(
    scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    """One bad segment used to kill the sink thread: 0 rows written, and the same failure every run."""
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, 10**6)
    (spool_dir / "000000000001.jsonl").write_text('{"garbage": tru')  # the reproduction
    spool.append(crossings(camera_id, 4), identity(scratch_url))
    spool.append(crossings(camera_id, 4, start=4), identity(scratch_url))
    truncated = spool.segments()[-1]
    truncated.write_text("\n".join(truncated.read_text().splitlines()[:-1]) + "\n")  # loses its last row
    spool.append(crossings(camera_id, 4, start=8), identity(scratch_url))

    under_test = sink(scratch_url, tmp_path)
    under_test.put(crossings(camera_id, 4, start=12))
    under_test.close()

    assert rows_in(scratch_url, "crossing_events", camera_id) == 12  # all but the truncated segment's 4
    quarantined = sorted(p.name for p in quarantine_dir(tmp_path).iterdir())
    assert len(quarantined) == 2 and quarantined[0].endswith("000000000001.jsonl")
    assert not spool.segments()
    assert under_test.stats.quarantined_segments == 2 and under_test.stats.failure is None
    assert "quarantined" in str(under_test.stats.error())
    assert len(events(scratch_url, "spool_segment_quarantined", T0)) >= 2


# -- item 3: poison rows are dead-lettered, not blocking -----------------------------------------

def test_poison_row_is_dead_lettered_and_the_rest_written(
    scratch_url: str, tmp_path: Path, camera_id: str
) -> None:
    """A row the database rejects for good used to be taken for an outage, and blocked everything."""
    batch = crossings(camera_id, 40) + [health(camera_id, s, quality=2.0 if s == 5 else 1.0) for s in range(10)]
    batch = batch[:25] + batch[40:] + batch[25:40]  # the poison row sits in the middle of the batch
    under_test = sink(scratch_url, tmp_path)
    under_test.put(batch)
    under_test.close()

    written = rows_in(scratch_url, "crossing_events", camera_id) + rows_in(scratch_url, "stream_health", camera_id)
    letters = [d for path in DeadLetters(deadletter_dir(tmp_path)).files()
               for d in DeadLetters(deadletter_dir(tmp_path)).read(path)]
    assert written == 49 and len(letters) == 1
    assert written + len(letters) == len(batch)  # rows produced = rows written + rows dead-lettered
    assert under_test.stats.written_rows == 49 + 1 and under_test.stats.dead_lettered_rows == 1  # + its alarm
    quality = RAW_TABLES["stream_health"].columns.index("quality")
    assert letters[0].row.values[quality] == 2.0 and "stream_health_quality_check" in letters[0].reason
    assert "23514" in letters[0].reason and letters[0].database == identity(scratch_url)
    assert under_test.stats.database_up and not under_test.stats.spool_segments
    [(severity, _, details)] = [e for e in events(scratch_url, "rows_dead_lettered", T0)
                                if e[2]["file"].startswith(str(tmp_path))]
    assert severity == "error" and details["rows"] == 1 and details["tables"] == ["stream_health"]
    metrics = WorkerMetrics()
    metrics.record_sink(under_test.stats)
    assert "camcount_deadletter_rows 1.0" in generate_latest(metrics.registry).decode()


def test_spooled_poison_row_does_not_block_the_spool(scratch_url: str, tmp_path: Path, camera_id: str) -> None:
    """The issue's reproduction: a spooled stream_health row with quality 2.0 blocked all ingestion."""
    spool = Spool(tmp_path / "spool", 10**6)
    spool.append([health(camera_id, 0), health(camera_id, 1, quality=2.0), health(camera_id, 2)],
                 identity(scratch_url))
    spool.append(crossings(camera_id, 10), identity(scratch_url))
    under_test = sink(scratch_url, tmp_path)
    under_test.put(crossings(camera_id, 10, start=10))
    under_test.close()
    assert rows_in(scratch_url, "stream_health", camera_id) == 2
    assert rows_in(scratch_url, "crossing_events", camera_id) == 20
    assert not spool.segments() and under_test.stats.dead_lettered_rows == 1


def test_dead_letters_replay_after_the_cause_is_fixed(
    scratch_cluster: Cluster, tmp_path: Path, camera_id: str
) -> None:
    url = scratch_cluster.recreate_database("deadletter_fix")
    migrate(url)
    under_test = sink(url, tmp_path)
    under_test.put([health(camera_id, s, quality=1.5 + s) for s in range(2)] + [health(camera_id, 9)])
    under_test.close()
    letters = DeadLetters(deadletter_dir(tmp_path))
    assert under_test.stats.dead_lettered_rows == 2 and len(letters.describe()) == 1
    assert "2 rows (2 stream_health)" in letters.describe()[0]

    writer = BatchWriter(url)
    assert letters.replay(writer).still_rejected == 2  # nothing fixed yet: kept, with the reason
    with psycopg.connect(url, autocommit=True) as conn:  # the fix: a wider quality scale
        conn.execute("ALTER TABLE raw.stream_health DROP CONSTRAINT stream_health_quality_check")
    report = letters.replay(writer)
    writer.close()
    assert (report.written, report.still_rejected, letters.files()) == (2, 0, [])
    assert rows_in(url, "stream_health", camera_id) == 3
    scratch_cluster.drop_database("deadletter_fix")

"""The sink's faults through the real `camcount` command (issue 10, items 1-3): a sink that stops
ends the worker non-zero with its rows kept; a corrupt spool segment is quarantined and the rest
counted; dead letters are listed and replayed after a fix. (Sink-level tests: sink/.)"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from bench.harness.worker_configs import camera, db_totals, write_config
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from realtime_worker.sink import EventSink, quarantine_dir
from realtime_worker.sink.rows import health_row
from realtime_worker.sink.spool import worker_spool_dir
from realtime_worker.types import HealthSample
from tests.conftest import run_camcount, write_clip
from tests.realtime_worker.conftest import reference_run

pytestmark = pytest.mark.fault

GARBAGE = '{"garbage": tru'  # the corrupt segment


@pytest.fixture(scope="module")
def tiny_clip(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(sample_video, tmp_path_factory.mktemp("clips") / "vtest-10s.avi", 100)


@pytest.fixture(scope="module")
def tiny_reference(database_url: str, tiny_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Counter:
    totals = reference_run(tiny_clip, "tiny-ref", tmp_path_factory.mktemp("tiny-ref"), database_url)
    assert sum(totals.values()) > 0
    return totals


def run_worker_cli(config: Path, home: Path) -> tuple[int, str, list[str]]:
    """Exit code, stderr and its `error:` lines of one `camcount worker run`."""
    result = run_camcount("worker", "run", "--config", str(config), timeout=120, env={"CAMCOUNT_HOME": str(home)})
    return result.returncode, result.stderr, [line for line in result.stderr.splitlines() if line.startswith("error:")]


def corrupt_spool(home: Path, camera_id: str) -> Path:
    spool = worker_spool_dir(home / "spool", [camera_id])
    spool.mkdir(parents=True)
    (spool / "000000000001.jsonl").write_text(GARBAGE)
    return spool


def test_sink_thread_failure_exits_nonzero_and_keeps_the_rows(
    database_url: str, db: psycopg.Connection, tiny_clip: Path, tiny_reference: Counter, tmp_path: Path,
    camera_id: str,
) -> None:
    """Any error in the sink thread used to kill it silently: the worker went on, then exited 0 or 1
    with rows unwritten. Here the quarantine cannot be created (a file is in its way)."""
    home = tmp_path / "home"
    spool = corrupt_spool(home, camera_id)
    home.joinpath("quarantine").write_text("in the way")
    config = write_config(tmp_path / "w.yaml", [camera(camera_id, tiny_clip)])

    code, stderr, errors = run_worker_cli(config, home)
    assert code == 7, stderr  # README: the sink stopped, rows kept
    assert "Traceback" not in stderr
    assert stderr.count("ALARM: the sink stopped") == 1, stderr
    assert len(errors) == 1 and "the sink stopped" in errors[0] and "kept in the spool" in errors[0], stderr
    kept = [json.loads(line) for path in spool.glob("*.jsonl") if path.read_text() != GARBAGE
            for line in path.read_text().splitlines()[1:]]
    assert "stream_health" in {table for table, _ in kept}, "the run's rows are kept in the spool"
    assert any(table == "platform_events" and values[2] == "sink_failed" for table, values in kept)
    assert (spool / "000000000001.jsonl").read_text() == GARBAGE  # nothing was lost, nothing moved

    # The cause removed, the next run quarantines the segment, replays the kept rows and counts the clip.
    home.joinpath("quarantine").unlink()
    code, stderr, errors = run_worker_cli(config, home)
    assert code == 7 and len(errors) == 1 and "1 unreadable spool segments were quarantined" in errors[0], stderr
    [quarantined] = quarantine_dir(home).iterdir()
    assert quarantined.name.endswith(f"-{spool.name}-000000000001.jsonl") and quarantined.read_text() == GARBAGE
    assert not list(spool.glob("*.jsonl"))
    assert db_totals(db, camera_id) == tiny_reference
    assert db.execute("SELECT count(*) FROM raw.platform_events WHERE kind = 'sink_failed' AND message LIKE %s",
                      (f"%{quarantine_dir(home)}%",)).fetchone()[0] == 1


def test_corrupt_segment_is_quarantined_and_the_run_counts_everything(
    db: psycopg.Connection, tiny_clip: Path, tiny_reference: Counter, tmp_path: Path, camera_id: str
) -> None:
    """The issue's reproduction: `{"garbage": tru` in a segment gave 0 of 34 crossings, a traceback
    and exit 1, and every later run failed the same way."""
    home = tmp_path / "home"
    corrupt_spool(home, camera_id)
    code, stderr, errors = run_worker_cli(write_config(tmp_path / "w.yaml", [camera(camera_id, tiny_clip)]), home)
    assert code == 7 and "Traceback" not in stderr, stderr
    assert len(errors) == 1 and "quarantined" in errors[0]
    assert [p.read_text() for p in quarantine_dir(home).iterdir()] == [GARBAGE]
    assert db_totals(db, camera_id) == tiny_reference


def health(camera_id: str, second: int, quality: float) -> object:
    return health_row(HealthSample(camera_id, 1_764_200_000.0 + second, 10.0, 10.0, 0, None, None, None, None,
                                   None, None, None, None, 0, 0, quality))


def test_deadletter_list_and_replay_after_a_fix(
    scratch_cluster: Cluster, database_url: str, tmp_path: Path, camera_id: str
) -> None:
    url = scratch_cluster.recreate_database("deadletter_cli")
    migrate(url)
    home = tmp_path / "home"
    sink = EventSink(url, home, home / "spool")
    sink.put([health(camera_id, 0, 1.0), health(camera_id, 1, 2.0), health(camera_id, 2, 1.0)])
    sink.close()
    assert sink.stats.dead_lettered_rows == 1

    def camcount(*args: str, database: str = url):
        return run_camcount("worker", "deadletter", *args,
                            env={"CAMCOUNT_HOME": str(home), "CAMCOUNT_DATABASE_URL": database})

    listed = camcount("list")
    assert listed.returncode == 0, listed.stderr
    assert "1 rows (1 stream_health) for database deadletter_cli" in listed.stdout
    assert "stream_health_quality_check" in listed.stdout and "23514" in listed.stdout
    elsewhere = camcount("replay", database=database_url)  # another database: refused, kept
    assert elsewhere.returncode == 7 and "meant for database deadletter_cli" in elsewhere.stdout
    again = camcount("replay")  # nothing fixed yet
    assert again.returncode == 7 and "1 rows rejected again" in again.stderr, again.stderr
    assert len([line for line in again.stderr.splitlines() if line.startswith("error:")]) == 1

    with psycopg.connect(url, autocommit=True) as conn:  # the fix: the check allows the value
        conn.execute("ALTER TABLE raw.stream_health DROP CONSTRAINT stream_health_quality_check")
    fixed = camcount("replay")
    assert fixed.returncode == 0 and "1 rows written, 0 rejected again" in fixed.stdout, fixed.stderr
    assert "0 dead-letter files" in camcount("list").stdout
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM raw.stream_health WHERE camera_id = %s",
                            (camera_id,)).fetchone()[0] == 3
    scratch_cluster.drop_database("deadletter_cli")

"""Loss accounting under every fault at once: nothing a worker produces is lost silently.

Two workers share one $CAMCOUNT_HOME; the database is killed with SIGKILL mid-run and restarted;
one spooled segment is corrupted while it waits; one row is poison (a constraint rejects it).
For every camera and every table whose rows a file determines (crossings, zone events,
occupancy), the rows a clean run produces equal the rows in the database + the rows
dead-lettered + the rows quarantined, and the run says so (exit 7 with both named).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, write_config
from camcount.db.cluster import Cluster
from camcount.db.migrate import migrate
from camcount.db.schema import RAW_TABLES
from camcount.errors import ExitCode
from realtime_worker.sink.spool import worker_spool_dir
from tests.realtime_worker.test_faults import start_live_workers, start_worker

pytestmark = [pytest.mark.fault, pytest.mark.slow]

TABLES = ("crossing_events", "zone_events", "zone_occupancy")  # deterministic for a file: comparable


def rows_in_database(url: str, cameras: tuple[str, ...]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    with psycopg.connect(url, autocommit=True) as db:
        for table in TABLES:
            for cam, n in db.execute(
                f"SELECT camera_id, count(*) FROM raw.{table} WHERE camera_id = ANY(%s) GROUP BY 1",
                (list(cameras),),
            ):
                counts[(cam, table)] += n
    return counts


def camera_of(table: str, values: list) -> str:
    return values[RAW_TABLES[table].columns.index("camera_id")]


def rows_in_files(paths: list[Path], skip_header: bool) -> Counter[tuple[str, str]]:
    """Rows kept aside in dead-letter files ({"table", "values", ...} per line) or quarantined
    segments (a header line, then [table, values] per line, counted even when the header is broken)."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in paths:
        lines = path.read_text().splitlines()[1 if skip_header else 0:]
        for line in lines:
            item = json.loads(line)
            table, values = (item["table"], item["values"]) if isinstance(item, dict) else item
            if table in TABLES:
                counts[(camera_of(table, values), table)] += 1
    return counts


def wait_for_counted_segment(spool: Path, timeout_s: float = 30) -> Path:
    """The oldest segment spooled during the outage that holds rows of the compared tables (the
    first ones may hold only health samples and platform events)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for segment in sorted(spool.glob("*.jsonl")):
            if rows_in_files([segment], skip_header=True):
                return segment
        time.sleep(0.5)
    raise AssertionError(f"no segment with counted rows in {spool} within {timeout_s} s of the outage")


def kill_server(cluster: Cluster) -> None:
    """SIGKILL the postmaster, like a power cut of the database host."""
    pid = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of this test's own: it is killed with SIGKILL, and no other test may see the aftermath."""
    cluster = Cluster(root=tmp_path / "db", port=free_port())
    cluster.start()
    yield cluster
    cluster.stop()


def test_every_row_is_in_the_database_dead_lettered_or_quarantined(
    own_cluster: Cluster, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    cameras = (f"{camera_id}-a", f"{camera_id}-b")
    # What each camera produces, from a clean run of the same files (same ids) in a database of its own.
    reference_url = own_cluster.recreate_database("loss_reference")
    migrate(reference_url)
    for cam in cameras:
        clean = start_worker(write_config(tmp_path / f"ref-{cam}.yaml", [camera(cam, short_clip)]),
                             tmp_path / "ref-home", reference_url)
        output, _ = clean.communicate(timeout=180)
        assert clean.returncode == 0, output
    produced = rows_in_database(reference_url, cameras)
    assert all(produced[(cam, "crossing_events")] > 2 for cam in cameras)

    url = own_cluster.recreate_database("loss")
    migrate(url)
    with psycopg.connect(reference_url, autocommit=True) as db:  # the poison: one crossing in the middle
        poison = db.execute(
            "SELECT event_id FROM raw.crossing_events WHERE camera_id = %s ORDER BY time "
            "OFFSET (SELECT count(*) / 2 FROM raw.crossing_events WHERE camera_id = %s) LIMIT 1",
            (cameras[0], cameras[0])).fetchone()[0]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"ALTER TABLE raw.crossing_events ADD CONSTRAINT poison CHECK (event_id <> '{poison}')")

    home = tmp_path / "home"
    workers = start_live_workers(cameras, short_clip, home, url, tmp_path)
    kill_server(own_cluster)
    try:
        victim = wait_for_counted_segment(worker_spool_dir(home / "spool", [cameras[0]]))
        victim.write_text('{"garbage": tru' + victim.read_text())  # its header no longer parses
        time.sleep(3)
    finally:
        own_cluster.start()

    outputs = []
    for worker in workers:
        output, _ = worker.communicate(timeout=180)
        outputs.append(output)
    assert [w.returncode for w in workers] == [ExitCode.SINK, ExitCode.OK], outputs
    assert "dead-lettered" in outputs[0] and "quarantined" in outputs[0] and "Traceback" not in outputs[0]

    in_database = rows_in_database(url, cameras)
    dead_lettered = rows_in_files(sorted((home / "deadletter").glob("*.jsonl")), skip_header=False)
    quarantined = rows_in_files(sorted((home / "quarantine").glob("*")), skip_header=True)
    assert dead_lettered == Counter({(cameras[0], "crossing_events"): 1})
    assert sum(quarantined.values()) > 0 and {cam for cam, _ in quarantined} == {cameras[0]}
    summary = {key: (produced[key], in_database[key], dead_lettered[key], quarantined[key]) for key in sorted(produced)}
    print("camera, table: produced = database + dead-lettered + quarantined")
    for (cam, table), (made, stored, dead, aside) in summary.items():
        print(f"  {cam}, {table}: {made} = {stored} + {dead} + {aside}")
    assert all(made == stored + dead + aside for made, stored, dead, aside in summary.values()), summary

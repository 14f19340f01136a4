"""`camcount demo` without the UI, as a user runs it, on a database that already holds a row from
before CAMCOUNT_PARTITIONS_START (issue 11: the demo died with a DagsterUnknownPartitionError
traceback, and printed dbt's whole log). It shows the worker's crossings table, one line per
Dagster run, the row it could not roll up in one line, and where the full output went."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import private_database, run_camcount

pytestmark = pytest.mark.slow
RUN_LINE = re.compile(r"^(\S+(?: \(dbt build\))?)\s+(\S+)\s+(ok|FAILED)\s+\d+\.\d s$")


@pytest.fixture(scope="module")
def demo_url(database_url: str) -> Iterator[str]:
    """A database of its own, addressed as the user's own server (so the demo starts no cluster)."""
    with private_database("camcount_test_demo") as url:
        yield url.replace("@127.0.0.1:", "@localhost:")


def test_demo_prints_a_summary_and_reports_rows_it_cannot_roll_up(demo_url: str, tmp_path: Path) -> None:
    with psycopg.connect(demo_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO raw.crossing_events (time, event_id, camera_id, line_id, track_run_id,
                                                          track_id, direction, class_name, confidence)
                        VALUES ('2023-12-31 23:30+00', gen_random_uuid(), 'imported', 'door', 'r', 1, 'in',
                                'person', 0.9)""")
    done = run_camcount("demo", timeout=900, env={
        "CAMCOUNT_DATABASE_URL": demo_url, "CAMCOUNT_HOME": str(tmp_path), "CAMCOUNT_DEMO_NO_UI": "1",
        "COLUMNS": "200"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "DagsterUnknownPartitionError" not in output

    worker, pipelines = output.split("3. rollups, marts and report")[0], output.split("3. rollups, marts and report")[1]
    assert "crossings counted" in worker and re.search(r"plaza\s+.\s+centre", worker), worker
    [outside] = [line for line in pipelines.splitlines() if line.startswith("not rolled up:")]
    assert "1 raw row(s) timed 2023-12-31 23:30" in outside
    runs = [RUN_LINE.match(line).groups() for line in pipelines.splitlines() if RUN_LINE.match(line)]
    assert {job for job, _, _ in runs} == {"hourly_rollups_job", "daily_rollups_job", "weekly_rollups_job",
                                           "monthly_rollups_job", "marts (dbt build)", "daily_report_job"}
    assert {state for _, _, state in runs} == {"ok"}, runs
    assert "2023-12-31" not in {partition[:10] for _, partition, _ in runs}

    log = Path(re.search(r"Dagster and dbt output: (\S+)", pipelines).group(1))
    assert "START sql view model" not in output and "START sql view model" in log.read_text()

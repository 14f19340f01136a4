"""Dropping an archived chunk is refused while the database holds rows that the archive does not."""

from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.archive import parquet


def test_drop_refuses_a_chunk_that_changed_after_archiving(conn: psycopg.Connection, prefix: str, camcount_home
                                                           ) -> None:
    day = date(2024, 2, 20)  # no other test touches it: archival acts on whole (shared) daily chunks
    data = insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=day, days=1, timezone="UTC",
                                      prefix=prefix, scale=0.1, zones=False, health=False)
    start = datetime(2024, 2, 20, tzinfo=UTC)
    end = start + timedelta(days=1)
    archived = parquet.archive_old_chunks(conn, end, start)  # what the archive asset runs
    assert ("crossing_events", day) in {(a.table, a.day) for a in archived}
    insert_realistic_crossings(conn, sites=1, cameras_per_site=1, start=day, days=1, timezone="UTC",
                               prefix=f"{prefix}late-", scale=0.01, zones=False, health=False)
    [chunk] = parquet.old_chunks(conn, "crossing_events", end, start)
    assert parquet.drop_archived_chunk(conn, chunk) == [day]
    assert conn.execute("SELECT count(*) FROM raw.crossing_events WHERE camera_id = %s",
                        (data.cameras[0],)).fetchone()[0] == data.total_crossings()

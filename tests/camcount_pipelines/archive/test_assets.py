"""The archive and retention assets: archive -> drop -> read back (also through the CLI) gives
identical rows; retention refuses chunks that are not archived yet."""

from datetime import UTC, date, datetime

import dagster as dg
import psycopg
from polars.testing import assert_frame_equal

from bench.harness.realistic_data import insert_realistic_crossings
from camcount_pipelines.archive import parquet
from camcount_pipelines.archive.assets import raw_archive, retention
from camcount_pipelines.definitions import defs
from tests.conftest import run_camcount

# Days no other test touches: archival and retention act on whole (shared) daily chunks.
DAY = date(2024, 2, 12)
BOUNDS = {"newer_than": "2024-02-11T00:00:00+00:00", "older_than": "2024-02-15T00:00:00+00:00"}


def _run(asset: dg.AssetsDefinition, config: dict, upstream: list | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset, *(upstream or [])], resources=defs.resources,
        run_config={"ops": {asset.op.name: {"config": config}}}, selection=[asset],
    )


def _count(conn: psycopg.Connection, window: tuple[datetime, datetime]) -> int:
    """Rows in the window, without keeping a transaction (and its chunk lock) open."""
    count = conn.execute("SELECT count(*) FROM raw.crossing_events WHERE time >= %s AND time < %s", window)
    result = count.fetchone()[0]
    conn.commit()
    return result


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    return result.asset_materializations_for_node(result.get_asset_materialization_events()[0].step_key)[0].metadata


def test_archive_drop_and_read_back_identical_rows(
    conn: psycopg.Connection, prefix: str, camcount_home
) -> None:
    insert_realistic_crossings(
        conn, sites=1, cameras_per_site=2, start=DAY, days=2, timezone="UTC", prefix=prefix, scale=0.3,
        health_every_s=60,
    )
    window = (datetime(2024, 2, 12, tzinfo=UTC), datetime(2024, 2, 13, tzinfo=UTC))
    before = {
        table: parquet._read_day(conn, table, DAY) for table in ("crossing_events", "zone_events", "zone_occupancy")
    }
    conn.commit()

    retention_config = {"windows_days": {"raw.crossing_events": 1, "raw.zone_events": 1, "raw.zone_occupancy": 1},
                        **BOUNDS}
    refused = _metadata(_run(retention, retention_config))["refused_unarchived"].data
    assert refused and all(days for days in refused.values())  # nothing archived yet: nothing dropped
    assert _count(conn, window) == before["crossing_events"].height

    meta = _metadata(_run(raw_archive, {"older_than_days": 1, **BOUNDS}))
    print(f"compression ratio {meta['compression_ratio'].value}x over {meta['rows'].value} rows")
    assert meta["compression_ratio"].value > 1.5

    assert _metadata(_run(retention, {**retention_config, "dry_run": True}))["would_drop"].data
    result = _metadata(_run(retention, retention_config))
    assert result["refused_unarchived"].data == {} and result["dropped"].data
    assert _count(conn, window) == 0
    for table, rows in before.items():
        assert_frame_equal(parquet.read_archive(table, *window), rows)
    # The same read back through the CLI a user would type.
    cli = run_camcount("archive", "query", "crossing_events", "--start", "2024-02-12", "--end", "2024-02-13",
                       "--csv", str(camcount_home / "out.csv"))
    assert cli.returncode == 0, cli.stderr
    assert f"{before['crossing_events'].height} archived rows" in cli.stdout
    assert len((camcount_home / "out.csv").read_text().splitlines()) == before["crossing_events"].height + 1

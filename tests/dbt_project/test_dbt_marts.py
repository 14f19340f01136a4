"""The marts against the real database: dbt build and its tests, reconciliation with the truth
the data was generated from, a late event end to end through Dagster, lineage, and docs."""

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import psycopg
from polars.testing import assert_frame_equal

from bench.harness.realistic_data import CLASS_NAME, LINE_ID, RealisticData
from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource, generate_docs
from camcount_pipelines.resources import TimescaleResource
from camcount_pipelines.rollups import compute
from camcount_pipelines.rollups.assets import daily_rollups, hourly_rollups
from tests.dbt_project.conftest import Marts

# Natural key of each mart: the late-event test diffs every mart row by row.
MART_KEYS = {
    "fct_crossings_hourly": ["camera_id", "line_id", "direction", "class_name", "bucket_utc"],
    "fct_crossings_daily": ["camera_id", "line_id", "direction", "class_name", "local_date"],
    "fct_occupancy_hourly": ["camera_id", "zone_id", "class_name", "bucket_utc"],
    "fct_dwell_hourly": ["camera_id", "zone_id", "class_name", "bucket_utc"],
    "fct_camera_health_daily": ["camera_id", "local_date"],
    "fct_site_daily_kpis": ["site_id", "local_date"],
    "fct_kpi_trends": ["site_id", "local_date", "kpi", "comparison"],
}


def test_dbt_build_runs_every_model_and_test(marts: Marts) -> None:
    results = marts.run_results["results"]
    failed = [(r["unique_id"], r["message"]) for r in results if r["status"] not in ("success", "pass")]
    assert failed == []
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert kinds == {"model", "seed", "test"}
    singular = [r for r in results if r["unique_id"].startswith("test.camcount.assert_")]
    assert len(singular) == 7


def test_dbt_builds_as_camcount_pipelines(marts: Marts, marts_conn: psycopg.Connection) -> None:
    """Every view and table dbt built belongs to the least-privilege role (migration 0050), which
    needs no other right to rebuild them; the BI role still reads every mart (test_dbt_bi.py)."""
    owners = marts_conn.execute(
        """SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('staging', 'marts') AND c.relkind IN ('r', 'v')""").fetchall()
    assert owners == [("camcount_pipelines",)]


def test_marts_reconcile_with_raw_truth(marts: Marts, marts_conn: psycopg.Connection) -> None:
    """Hourly and daily crossings and daily site totals equal what was inserted, per camera,
    line, direction and local day, across two timezones and both DST changes."""
    for data in (marts.recent, marts.autumn_dst):
        hourly = _truth_hourly(data)
        mart_hourly = _frame(
            marts_conn,
            "select camera_id, line_id, direction, class_name, bucket_utc as bucket, crossings "
            "from marts.fct_crossings_hourly where camera_id = any(%s)",
            data.cameras,
        )
        assert_frame_equal(_sorted(mart_hourly), _sorted(hourly), check_dtypes=False)

        daily = (
            hourly.with_columns(local_date=pl.col("bucket").dt.convert_time_zone(data.timezone).dt.date())
            .group_by("camera_id", "direction", "local_date")
            .agg(pl.col("crossings").sum())
        )
        mart_daily = _frame(
            marts_conn,
            "select camera_id, direction, local_date, crossings from marts.fct_crossings_daily "
            "where camera_id = any(%s) and line_id = %s and class_name = %s",
            data.cameras, LINE_ID, CLASS_NAME,
        )
        assert_frame_equal(_sorted(mart_daily), _sorted(daily), check_dtypes=False)

        site_totals = (
            daily.with_columns(site_id=pl.col("camera_id").replace_strict(data.camera_site))
            .group_by("site_id", "local_date")
            .agg(
                total_in=pl.col("crossings").filter(pl.col("direction") == "in").sum(),
                total_out=pl.col("crossings").filter(pl.col("direction") == "out").sum(),
            )
        )
        mart_totals = _frame(
            marts_conn,
            "select site_id, local_date, total_in, total_out from marts.fct_site_daily_kpis "
            "where site_id = any(%s) and total_in + total_out > 0",
            data.sites,
        )
        assert_frame_equal(_sorted(mart_totals), _sorted(site_totals), check_dtypes=False)


def test_dst_days_have_all_their_hours(marts_conn: psycopg.Connection, marts: Marts) -> None:
    hours = dict(
        marts_conn.execute(
            "select site_id || ' ' || local_date, hours_in_day from marts.fct_site_daily_kpis "
            "where (site_id = any(%s) and local_date = '2024-04-07') "
            "   or (site_id = any(%s) and local_date = '2024-03-31')",
            (marts.autumn_dst.sites, marts.spring_dst.sites),
        ).fetchall()
    )
    assert sorted(hours.values()) == [23, 25]


def test_dagster_lineage_runs_from_rollups_to_marts() -> None:
    defs = dg.Definitions(
        assets=[*hourly_rollups, *daily_rollups, camcount_dbt_assets],
        resources={"timescale": TimescaleResource(), "dbt": dbt_resource()},
    )
    graph = defs.resolve_asset_graph()
    hourly = dg.AssetKey(["marts", "fct_crossings_hourly"])
    upstream = graph.get(hourly).parent_keys
    assert upstream == {dg.AssetKey(["staging", "stg_rollup__crossings_hourly"]), dg.AssetKey(["marts", "dim_cameras"])}
    assert graph.get(dg.AssetKey(["staging", "stg_rollup__crossings_hourly"])).parent_keys == {
        dg.AssetKey(["rollup", "crossings_hourly"])
    }
    assert graph.get(dg.AssetKey(["staging", "stg_rollup__crossings_daily"])).parent_keys == {
        dg.AssetKey(["rollup", "crossings_daily"])
    }
    checks = {check.name for check in camcount_dbt_assets.check_keys if check.asset_key == hourly}
    assert "assert_crossings_hourly_reconciles_with_rollup" in checks
    daily = dg.AssetKey(["marts", "fct_crossings_daily"])
    daily_checks = {check.name for check in camcount_dbt_assets.check_keys if check.asset_key == daily}
    assert {f"assert_crossings_daily_reconciles_with_{truth}" for truth in ("rollup", "raw")} <= daily_checks
    assert camcount_dbt_assets.automation_conditions_by_key[hourly] is not None


def test_docs_site_is_generated(marts: Marts, tmp_path: Path) -> None:
    page = generate_docs(tmp_path)
    assert page.stat().st_size > 100_000
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert "completeness_pct" in catalog["nodes"]["model.camcount.fct_site_daily_kpis"]["columns"]


def test_late_event_changes_only_its_rows(marts: Marts, marts_conn: psycopg.Connection) -> None:
    """An event arriving days late for 2024 (far outside the lookback window): once its hour is
    rolled up again, a Dagster run of the dbt assets (incremental) changes exactly the rows of
    its hour, day and site, and the trends that compare with that day."""
    data = marts.spring_dst
    camera = data.cameras[0]
    site = data.camera_site[camera]
    moment = data.start_utc + timedelta(days=1, hours=10, minutes=17)
    local_date = moment.astimezone(ZoneInfo(data.timezone)).date()
    before = _snapshot(marts_conn, _today_by_site(marts_conn))

    marts_conn.execute(
        "insert into raw.crossing_events (time, event_id, camera_id, line_id, track_run_id, track_id,"
        " direction, class_name, confidence) values (%s, %s, %s, %s, 'late-run', 1, 'in', %s, 0.9)",
        (moment, uuid.uuid4(), camera, LINE_ID, CLASS_NAME),
    )
    hour = moment.replace(minute=0)
    compute.rollup_hours(marts_conn, "crossings_hourly", hour, hour + timedelta(hours=1))
    # What the calendar sensor then runs: every local day that may hold the hour.
    for table in compute.DAILY_SOURCES:
        compute.rollup_days(marts_conn, table, hour.date() - timedelta(days=1), hour.date() + timedelta(days=2))
    result = dg.materialize([camcount_dbt_assets], resources={"dbt": dbt_resource()})
    assert result.success
    after = _snapshot(marts_conn, _today_by_site(marts_conn))

    changed = {table: _changed_keys(before[table], after[table]) for table in MART_KEYS}
    key = (camera, LINE_ID, "in", CLASS_NAME)
    assert changed["fct_crossings_hourly"] == {(*key, hour)}
    assert changed["fct_crossings_daily"] == {(*key, local_date)}
    assert changed["fct_site_daily_kpis"] == {(site, local_date)}
    assert {(s, d, k) for s, d, k, _ in changed["fct_kpi_trends"]} <= {
        (site, local_date + timedelta(days=offset), kpi)
        for offset in range(14)
        for kpi in ("crossings_in", "crossings_total")
    }
    assert changed["fct_kpi_trends"]
    for table in ("fct_occupancy_hourly", "fct_dwell_hourly", "fct_camera_health_daily"):
        assert changed[table] == set(), table
    hourly_before = before["fct_crossings_hourly"][(*key, hour)]["crossings"]
    assert after["fct_crossings_hourly"][(*key, hour)]["crossings"] == hourly_before + 1


def _truth_hourly(data: RealisticData) -> pl.DataFrame:
    return data.expected_crossings_hourly().with_columns(pl.col("bucket").dt.convert_time_zone("UTC"))


def _frame(conn: psycopg.Connection, query: str, *params: object) -> pl.DataFrame:
    cursor = conn.execute(query, params)
    columns = [column.name for column in cursor.description]
    frame = pl.DataFrame(cursor.fetchall(), schema=columns, orient="row")
    if "bucket" in frame.columns:
        frame = frame.with_columns(pl.col("bucket").dt.convert_time_zone("UTC"))
    return frame


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns by name and rows by value, with one integer type, so frames compare as sets."""
    return frame.select(sorted(frame.columns)).cast({pl.UInt32: pl.Int64}).sort(pl.all())


def _today_by_site(conn: psycopg.Connection) -> dict[str, date]:
    """Each site's current local date: rows of that day depend on the clock, not on the data."""
    return dict(conn.execute("select site_id, (now() at time zone timezone)::date from marts.dim_sites").fetchall())


def _snapshot(conn: psycopg.Connection, today: dict[str, date]) -> dict[str, dict[tuple, dict]]:
    """Every mart row by natural key, without its change time, leaving out each site's today."""
    snapshot = {}
    for table, key in MART_KEYS.items():
        cursor = conn.execute(f"select * from marts.{table}")
        columns = [column.name for column in cursor.description]
        rows = {}
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            if row["local_date"] >= today[row["site_id"]]:
                continue
            row.pop("source_updated_at")
            rows[tuple(row[column] for column in key)] = row
        snapshot[table] = rows
    return snapshot


def _changed_keys(before: dict[tuple, dict], after: dict[tuple, dict]) -> set[tuple]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}

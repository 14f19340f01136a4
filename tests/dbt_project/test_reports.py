"""The KPI reports, fed by the marts: numbers equal direct SQL on raw, trends follow the dbt seed,
PNGs exist and are linked in metadata. They live with the marts' tests because they need the
marts' private database (a dbt build tests every row of the database it runs in).

The flow is production's: hourly rollups, then the local days, then the dbt assets, then the reports,
all through Dagster.
"""

import csv
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest

from bench.harness.realistic_data import RealisticData, insert_realistic_crossings
from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource
from camcount_pipelines.marts.profile import DBT_PROJECT_DIR
from camcount_pipelines.rollups.compute import DAILY_SOURCES, HOURLY_SOURCES
from tests.camcount_pipelines.conftest import materialize_partitions
from tests.dbt_project.conftest import Marts

WEEK = date(2024, 8, 12)  # a Monday: the weekly report's ISO week; the week before is in the data too
DAY = WEEK + timedelta(days=1)  # the daily report's Tuesday


@pytest.fixture(scope="module")
def reported(marts: Marts, tmp_path_factory: pytest.TempPathFactory) -> tuple[RealisticData, Path]:
    """Two weeks of one site with two cameras, rolled up, built into the marts, then both reports."""
    home = tmp_path_factory.mktemp("camcount-home")
    with pytest.MonkeyPatch.context() as patch, psycopg.connect(marts.url) as conn:
        patch.setenv("CAMCOUNT_HOME", str(home))
        data = insert_realistic_crossings(conn, sites=1, cameras_per_site=2, start=WEEK - timedelta(days=7), days=14,
                                          prefix="report-", scale=0.2, health_every_s=30, seed=3)
        hourly = [dg.AssetKey(["rollup", t]) for t in HOURLY_SOURCES]
        assert materialize_partitions(hourly, data.start_utc, data.end_utc - timedelta(hours=1)).success
        daily = [dg.AssetKey(["rollup", t]) for t in DAILY_SOURCES]
        assert materialize_partitions(daily, WEEK - timedelta(days=7), WEEK + timedelta(days=6)).success
        assert dg.materialize([camcount_dbt_assets], resources={"dbt": dbt_resource()}).success
        for period, key in (("daily", DAY), ("weekly", WEEK)):
            result = materialize_partitions([dg.AssetKey(["reports", f"{period}_kpis"])], key, key)
            assert result.success
            [event] = result.get_asset_materialization_events()
            (home / f"{period}.md").write_text(event.materialization.metadata["summary"].value)
            assert event.materialization.metadata["reports"].data == {
                data.sites[0]: str(home / "reports" / period / key.isoformat() / data.sites[0] / "report.html")
            }
    return data, home


def test_daily_report_matches_raw_and_links_its_chart(reported, marts_conn: psycopg.Connection) -> None:
    data, home = reported
    folder = home / "reports" / "daily" / DAY.isoformat() / data.sites[0]
    assert (folder / "hourly.png").stat().st_size > 1000 and (folder / "occupancy.png").exists()
    summary = (home / "daily.md").read_text()
    assert f"({(folder / 'hourly.png').as_uri()})" in summary and "data:image/png;base64," in summary

    kpis = pl.read_csv(folder / "kpis.csv").sort("camera_id")
    truth = _raw_by_camera(marts_conn, data, DAY, DAY + timedelta(days=1))
    previous = _raw_by_camera(marts_conn, data, DAY - timedelta(days=1), DAY)
    assert kpis["total_in"].to_list() == [truth[c]["in"] for c in data.cameras]
    assert kpis["total_out"].to_list() == [truth[c]["out"] for c in data.cameras]
    assert kpis["net"].to_list() == [truth[c]["in"] - truth[c]["out"] for c in data.cameras]
    assert kpis["max_occupancy"].to_list() == [truth[c]["max_occupancy"] for c in data.cameras]
    assert kpis["completeness_pct"].to_list() == pytest.approx(
        [100.0 * truth[c]["health"] / (86400 / 10) for c in data.cameras], rel=1e-12
    )
    _assert_trends(kpis, truth, previous)


def test_weekly_report_matches_raw_week_over_week(reported, marts_conn: psycopg.Connection) -> None:
    data, home = reported
    kpis = pl.read_csv(home / "reports" / "weekly" / WEEK.isoformat() / data.sites[0] / "kpis.csv").sort("camera_id")
    truth = _raw_by_camera(marts_conn, data, WEEK, WEEK + timedelta(days=7))
    previous = _raw_by_camera(marts_conn, data, WEEK - timedelta(days=7), WEEK)
    assert kpis["total_in"].to_list() == [truth[c]["in"] for c in data.cameras]
    assert kpis["total_out"].to_list() == [truth[c]["out"] for c in data.cameras]
    _assert_trends(kpis, truth, previous)
    site_row = next(line for line in (home / "weekly.md").read_text().splitlines() if line.startswith("| total_in"))
    assert site_row == f"| total_in | {sum(truth[c]['in'] for c in data.cameras)} |"


def _assert_trends(kpis: pl.DataFrame, truth: dict, previous: dict) -> None:
    """change_pct as the marts round it; direction and strength from the seed's thresholds."""
    thresholds = _seed_thresholds()
    for row in kpis.iter_rows(named=True):
        now = truth[row["camera_id"]]["in"] + truth[row["camera_id"]]["out"]
        before = previous[row["camera_id"]]["in"] + previous[row["camera_id"]]["out"]
        change = round(100 * (now - before) / before, 2)
        assert row["change_pct"] == pytest.approx(change, abs=1e-9)
        strength = max((t for t in thresholds if abs(change) >= t[1]), key=lambda t: t[1])[0]
        assert row["strength"] == strength
        assert row["direction"] == ("flat" if strength == "flat" else "up" if change > 0 else "down")


def _seed_thresholds() -> list[tuple[str, float]]:
    with (DBT_PROJECT_DIR / "seeds" / "kpi_trend_thresholds.csv").open() as seed:
        return [(row["strength"], float(row["min_abs_change_pct"])) for row in csv.DictReader(seed)]


def _raw_by_camera(conn: psycopg.Connection, data: RealisticData, first: date, last: date) -> dict[str, dict]:
    """Per camera over local days [first, last), straight from raw: crossings in and out, the
    highest occupancy sample, and health samples."""
    rows = conn.execute(
        """WITH cams AS (SELECT c.camera_id, s.timezone FROM ops.cameras c JOIN ops.sites s USING (site_id)
                         WHERE c.camera_id = ANY(%(cameras)s))
           SELECT cams.camera_id,
                  (SELECT count(*) FROM raw.crossing_events e WHERE e.camera_id = cams.camera_id
                     AND e.direction = 'in' AND (e.time AT TIME ZONE cams.timezone)::date >= %(first)s
                     AND (e.time AT TIME ZONE cams.timezone)::date < %(last)s),
                  (SELECT count(*) FROM raw.crossing_events e WHERE e.camera_id = cams.camera_id
                     AND e.direction = 'out' AND (e.time AT TIME ZONE cams.timezone)::date >= %(first)s
                     AND (e.time AT TIME ZONE cams.timezone)::date < %(last)s),
                  (SELECT max(occupancy) FROM raw.zone_occupancy o WHERE o.camera_id = cams.camera_id
                     AND (o.time AT TIME ZONE cams.timezone)::date >= %(first)s
                     AND (o.time AT TIME ZONE cams.timezone)::date < %(last)s),
                  (SELECT count(*) FROM raw.stream_health h WHERE h.camera_id = cams.camera_id
                     AND (h.time AT TIME ZONE cams.timezone)::date >= %(first)s
                     AND (h.time AT TIME ZONE cams.timezone)::date < %(last)s)
           FROM cams""",
        {"cameras": data.cameras, "first": first, "last": last},
    ).fetchall()
    return {camera: {"in": n_in, "out": n_out, "max_occupancy": occupancy, "health": health}
            for camera, n_in, n_out, occupancy, health in rows}

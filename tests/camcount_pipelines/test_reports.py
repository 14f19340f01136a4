"""The daily KPI report: numbers equal direct SQL on raw, PNGs exist and are linked in metadata."""

from datetime import date, timedelta

import dagster as dg
import polars as pl
import psycopg

from camcount_pipelines.rollups import DAILY_SOURCES, HOURLY_SOURCES
from tests.realistic_data import insert_realistic_crossings

DAY = date(2024, 8, 13)  # a Tuesday; the previous day is in the data too, for the trend


def test_daily_report_matches_sql_and_links_its_chart(
    conn: psycopg.Connection, prefix: str, camcount_home, materialize_range
) -> None:
    data = insert_realistic_crossings(conn, sites=1, cameras_per_site=2, start=DAY - timedelta(days=1), days=2,
                                      prefix=prefix, scale=0.2, health_every_s=30)
    hourly = [dg.AssetKey(["rollup", t]) for t in HOURLY_SOURCES]
    assert materialize_range(hourly, data.start_utc, data.end_utc - timedelta(hours=1)).success
    assert materialize_range([dg.AssetKey(["rollup", t]) for t in DAILY_SOURCES], DAY - timedelta(days=1), DAY).success
    result = materialize_range([dg.AssetKey(["reports", "daily_kpis"])], DAY, DAY)
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    site = data.sites[0]
    folder = camcount_home / "reports" / "daily" / DAY.isoformat() / site
    assert (folder / "hourly.png").stat().st_size > 1000 and (folder / "occupancy.png").exists()
    assert f"({(folder / 'hourly.png').as_uri()})" in metadata["summary"].value
    assert "data:image/png;base64," in metadata["summary"].value
    assert metadata["reports"].data[site] == str(folder / "report.html")

    kpis = pl.read_csv(folder / "kpis.csv").sort("camera_id")
    previous = dict(conn.execute(
        """SELECT e.camera_id, count(*) FROM raw.crossing_events e
           JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
           WHERE s.site_id = %(s)s AND (e.time AT TIME ZONE s.timezone)::date = %(d)s - 1 GROUP BY 1""",
        {"s": site, "d": DAY},
    ).fetchall())
    today = conn.execute(
        """SELECT e.camera_id, count(*) FILTER (WHERE direction = 'in'), count(*) FILTER (WHERE direction = 'out'),
                  max(occupancy.max), avg(health.n)
           FROM raw.crossing_events e JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
           CROSS JOIN LATERAL (SELECT max(occupancy) FROM raw.zone_occupancy o WHERE o.camera_id = e.camera_id
                 AND (o.time AT TIME ZONE s.timezone)::date = %(d)s) occupancy
           CROSS JOIN LATERAL (SELECT count(*) AS n FROM raw.stream_health h WHERE h.camera_id = e.camera_id
                 AND (h.time AT TIME ZONE s.timezone)::date = %(d)s) health
           WHERE s.site_id = %(s)s AND (e.time AT TIME ZONE s.timezone)::date = %(d)s
           GROUP BY 1 ORDER BY 1""",
        {"s": site, "d": DAY},
    ).fetchall()
    conn.commit()
    assert kpis["total_in"].to_list() == [r[1] for r in today]
    assert kpis["total_out"].to_list() == [r[2] for r in today]
    assert kpis["net"].to_list() == [r[1] - r[2] for r in today]
    assert kpis["max_occupancy"].to_list() == [r[3] for r in today]
    assert kpis["completeness_pct"].to_list() == [100.0 * float(r[4]) / (86400 / 10) for r in today]
    for row in kpis.iter_rows(named=True):
        change = 100.0 * (row["total_in"] + row["total_out"] - previous[row["camera_id"]]) / previous[row["camera_id"]]
        assert abs(row["change_pct"] - change) < 1e-9
        assert row["trend"] in {"up", "down", "flat"} and row["strength"] in {"weak", "moderate", "strong"}

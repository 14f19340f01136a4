"""A site's KPI report on disk: HTML with PNG charts plus CSV under
$CAMCOUNT_HOME/reports/<period>/<first day>/<site>/, and its headline table as Markdown for the
Dagster UI. Figures and trends come from the dbt marts (camcount_pipelines.reports.kpis)."""

import base64
import html
from datetime import date
from pathlib import Path

import matplotlib
import polars as pl
import psycopg

from camcount.settings import camcount_home
from camcount_pipelines.reports import kpis

matplotlib.use("Agg")  # headless: the daemon and tests have no display
from matplotlib import pyplot as plt

HEADLINE = ["total_in", "total_out", "net", "peak_hour", "max_occupancy", "mean_occupancy", "mean_dwell_s",
            "change_pct", "direction", "strength", "completeness_pct"]


def render_site_report(
    conn: psycopg.Connection, site: str, period: str, first: date, last: date
) -> tuple[Path, pl.DataFrame]:
    """Write the site's report files for local days [first, last); returns the folder and the KPIs
    (the site's row first, camera_id null, then the cameras')."""
    folder = camcount_home() / "reports" / period / first.isoformat() / site
    folder.mkdir(parents=True, exist_ok=True)
    figures = kpis.report_kpis(conn, site, period, first, last)
    cameras = figures.filter(pl.col("camera_id").is_not_null())
    cameras.write_csv(folder / "kpis.csv")
    _hourly_chart(kpis.hourly_counts(conn, site, first, last), folder / "hourly.png", site)
    _heatmap(kpis.occupancy_by_hour(conn, site, first, last), folder / "occupancy.png", site)
    title = html.escape(f"{site}: {period} report, local days {first} to {last} (exclusive)")
    (folder / "report.html").write_text(
        f"""<!doctype html><meta charset="utf-8"><title>{title}</title><h1>{title}</h1>
<h2>Site</h2>{_html_table(figures.filter(pl.col("camera_id").is_null()).select(HEADLINE))}
<h2>Cameras</h2>{_html_table(cameras.select("camera_id", *HEADLINE))}
<h2>Hourly crossings</h2><img src="hourly.png" alt="hourly crossings">
<h2>Occupancy by hour of day</h2><img src="occupancy.png" alt="occupancy heatmap">
<p><a href="kpis.csv">kpis.csv</a></p>
"""
    )
    return folder, figures


def markdown_summary(site: str, site_row: dict, chart: Path) -> str:
    """The site's headline KPIs and its hourly chart (inlined, so the Dagster UI shows it) as Markdown."""
    rows = [f"| {name} | {_fmt(site_row[name])} |" for name in HEADLINE]
    image = base64.b64encode(chart.read_bytes()).decode()
    return "\n".join(
        [f"### {site}", "| KPI | value |", "|---|---|", *rows, "",
         f"![hourly crossings](data:image/png;base64,{image})", f"[hourly.png]({chart.as_uri()})"]
    )


def _hourly_chart(hourly: pl.DataFrame, path: Path, site: str) -> None:
    by_hour = hourly.group_by("local_hour").agg(pl.col("crossings_in", "crossings_out").sum()).sort("local_hour")
    fig, ax = plt.subplots(figsize=(10, 3.5))
    x = range(by_hour.height)
    ax.bar(x, by_hour["crossings_in"], label="in", color="#2a9d8f")
    ax.bar(x, by_hour["crossings_out"], bottom=by_hour["crossings_in"], label="out", color="#e76f51")
    step = max(1, by_hour.height // 12)
    ax.set_xticks(list(x)[::step], [f"{t:%a %H:00}" for t in by_hour["local_hour"]][::step], rotation=30, ha="right")
    ax.set(title=f"{site}: crossings per local hour", ylabel="crossings")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _heatmap(occupancy: pl.DataFrame, path: Path, site: str) -> None:
    cameras = occupancy["camera_id"].unique().sort().to_list()
    grid = [[0.0] * 24 for _ in cameras]
    for camera, hour, mean in occupancy.iter_rows():
        grid[cameras.index(camera)][hour] = mean
    fig, ax = plt.subplots(figsize=(10, 1 + 0.5 * max(1, len(cameras))))
    image = ax.imshow(grid or [[0.0] * 24], aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(cameras)), cameras)
    ax.set_xticks(range(24))
    ax.set(title=f"{site}: mean occupancy by local hour of day", xlabel="hour")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _html_table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in frame.iter_rows()
    )
    return f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>"


def _fmt(value: object) -> str:
    """Floats to one decimal; a missing figure (no baseline for a trend, no zone) as n/a."""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if isinstance(value, float) else str(value)

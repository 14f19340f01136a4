"""`camcount demo`: the whole product on the bundled sample clip, on this machine.

1. start the embedded TimescaleDB (unless CAMCOUNT_DATABASE_URL is set) and migrate it;
2. run the worker over data/vtest.avi as camera `plaza`;
3. materialize the hourly rollups, the dbt marts and the KPI report through Dagster;
4. print a summary (crossings per line, rows per table);
5. unless CAMCOUNT_DEMO_NO_UI=1: keep two looping "live" cameras streaming the clip and serve
   the Dagster UI on http://127.0.0.1:3000 (sensors running) until Ctrl-C.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from camcount.db import connect
from camcount.db.cluster import Cluster, embedded_cluster_in_use
from camcount.db.dsn import database_url
from camcount.db.migrate import migrate
from camcount.settings import camcount_home
from realtime_worker.config import load_config
from realtime_worker.runner import run_worker

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "docs" / "examples" / "worker.yaml"
console = Console()


@click.command()
@click.option("--no-ui", is_flag=True, envvar="CAMCOUNT_DEMO_NO_UI", help="Skip the live cameras and the UI.")
def demo(no_ui: bool) -> None:
    """Run camcount end to end on the bundled sample clip."""
    home = camcount_home()
    console.rule("1. database")
    if embedded_cluster_in_use():
        Cluster.default().start()
    applied = migrate()
    console.print(f"{database_url()}: {'applied ' + ', '.join(applied) if applied else 'schema up to date'}")

    console.rule("2. worker over the sample clip")
    config = load_config(DEMO_CONFIG)
    summary = run_worker(config, database_url=database_url(), home=home, camera_ids=None, stop=threading.Event())
    console.print(f"frames processed: {sum(summary.frames.values())}")

    console.rule("3. rollups, marts and report (Dagster)")
    from camcount_pipelines.demo import materialize_for_demo

    materialize_for_demo(home / "dagster")

    console.rule("4. summary")
    _print_database_summary()
    if no_ui or os.environ.get("CAMCOUNT_DEMO_NO_UI") == "1":
        return
    console.rule("5. live cameras + Dagster UI")
    from camcount_pipelines.demo import serve_ui_with_live_cameras

    serve_ui_with_live_cameras(home, REPO)


def _print_database_summary() -> None:
    with connect() as conn:
        crossings = conn.execute(
            """SELECT camera_id, line_id,
                      count(*) FILTER (WHERE direction = 'in'), count(*) FILTER (WHERE direction = 'out')
               FROM raw.crossing_events GROUP BY 1, 2 ORDER BY 1, 2"""
        ).fetchall()
        tables = ["raw.crossing_events", "raw.zone_events", "raw.zone_occupancy", "raw.stream_health",
                  "raw.platform_events", "rollup.crossings_hourly"]
        marts = [f"marts.{name}" for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1")]
        counts = [(t, conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables + marts]
    lines = Table(title="crossings in the database")
    for column in ("camera", "line", "in", "out"):
        lines.add_column(column)
    for row in crossings:
        lines.add_row(*map(str, row))
    console.print(lines)
    rows = Table(title="rows per table")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for table, count in counts:
        rows.add_row(table, str(count))
    console.print(rows)

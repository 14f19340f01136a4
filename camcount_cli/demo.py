"""`camcount demo`: the whole product on the bundled sample clip, on this machine.

1. start the embedded TimescaleDB (unless CAMCOUNT_DATABASE_URL is set) and migrate it;
2. run the worker over data/vtest.avi as camera `plaza`;
3. materialize the hourly rollups, the dbt marts and the KPI report through Dagster;
4. print a summary (crossings per line, rows per table);
5. unless CAMCOUNT_DEMO_NO_UI=1: keep two looping "live" cameras streaming the clip and serve
   the Dagster UI on http://127.0.0.1:3000 (sensors running) and the live page and API
   (`camcount serve`) on http://127.0.0.1:8080 until Ctrl-C. CAMCOUNT_UI_PORT, CAMCOUNT_API_PORT
   and CAMCOUNT_METRICS_PORT (the live worker's /metrics) move them, e.g. beside another demo.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import click
from psycopg import sql
from rich.console import Console
from rich.table import Table

from camcount.db import connect
from camcount.db.cluster import Cluster, embedded_cluster_in_use
from camcount.db.dsn import database_url
from camcount.db.migrate import migrate
from camcount.db.roles import PIPELINES_PASSWORD_ENV, PIPELINES_ROLE
from camcount.redact import redact_dsn
from camcount.settings import camcount_home
from camcount_cli.processes import Supervised, stop_group
from camcount_pipelines.role import pipelines_database_url
from realtime_worker.cli import print_summary
from realtime_worker.config import read_document, substitute_env, validate_document
from realtime_worker.runner import run_worker

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "docs" / "examples" / "worker.yaml"
UI_ADDRESS = ("--host", "127.0.0.1")  # the UI never listens beyond this machine (port: CAMCOUNT_UI_PORT)
console = Console()


@click.command()
@click.option("--no-ui", is_flag=True, envvar="CAMCOUNT_DEMO_NO_UI", help="Skip the live cameras and the UI.")
def demo(no_ui: bool) -> None:
    """Run camcount end to end on the bundled sample clip."""
    home = camcount_home()
    console.rule("1. database")
    if embedded_cluster_in_use():
        Cluster.default().start()
        # Dagster and dbt log in as camcount_pipelines: on this private trust-auth cluster any
        # password works once `migrate` has enabled the login with it (as `camcount serve` does).
        os.environ.setdefault(PIPELINES_PASSWORD_ENV, secrets.token_urlsafe(24))
    applied = migrate()
    console.print(f"{database_url()}: {'applied ' + ', '.join(applied) if applied else 'schema up to date'}")

    console.rule("2. worker over the sample clip")
    config = validate_document(substitute_env(_demo_document(), DEMO_CONFIG), DEMO_CONFIG, DEMO_CONFIG.parent)
    summary = run_worker(config, database_url=database_url(), home=home, camera_ids=None, stop=threading.Event())
    print_summary(summary, [(camera.id, line.id) for camera in config.cameras for line in camera.lines])

    console.rule("3. rollups, marts and report (Dagster)")
    console.print(f"Dagster and dbt act as {PIPELINES_ROLE}, logged in as {redact_dsn(pipelines_database_url())}")
    _materialize(home)

    console.rule("4. summary")
    _print_database_summary()
    if no_ui or os.environ.get("CAMCOUNT_DEMO_NO_UI") == "1":
        return
    console.rule("5. live cameras + Dagster UI")
    _serve_ui_with_live_cameras(home)


def _demo_document() -> dict:
    """The demo's worker config as YAML data, its /metrics on CAMCOUNT_METRICS_PORT when set (both
    the clip's worker and the live one: a demo beside another worker must not collide)."""
    document = read_document(DEMO_CONFIG)
    if os.environ.get("CAMCOUNT_METRICS_PORT"):
        document.setdefault("health", {})["metrics_port"] = int(os.environ["CAMCOUNT_METRICS_PORT"])
    return document


def _materialize(home: Path) -> None:
    """Run the Dagster jobs for exactly the partitions the sample clip touched, recorded in the
    instance, so the UI shows these runs and the sensors pick up from there. One line per run
    (job, partition, ok or FAILED, duration); Dagster's and dbt's own output goes to a log file."""
    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)  # API-status notes for developers, not users
    from camcount_pipelines.alerts.rules import rows_outside_partitions
    from camcount_pipelines.definitions import defs
    from camcount_pipelines.instance import ensure_dagster_home, ensure_pools, fail_orphaned_runs
    from camcount_pipelines.marts.dbt import camcount_dbt_assets, dbt_resource, generate_docs
    from camcount_pipelines.partitions import DAILY, HOURLY, MONTHLY, WEEKLY, hourly_window
    from camcount_pipelines.rollups.compute import HOURLY_SOURCES

    ensure_dagster_home(home / "dagster")
    with connect() as conn:
        hours = [row[0] for row in conn.execute(
            """SELECT DISTINCT to_char(time_bucket('1 hour', time) AT TIME ZONE 'UTC', 'YYYY-MM-DD-HH24:00')
               FROM (SELECT time FROM raw.crossing_events UNION ALL SELECT time FROM raw.zone_occupancy
                     UNION ALL SELECT time FROM raw.stream_health) AS t ORDER BY 1""")]
        days, weeks, months = (sorted({row[i] for row in conn.execute(
            """SELECT DISTINCT to_char(d, 'YYYY-MM-DD'), to_char(date_trunc('week', d), 'YYYY-MM-DD'),
                      to_char(date_trunc('month', d), 'YYYY-MM-DD')
               FROM (SELECT (e.time AT TIME ZONE s.timezone)::date AS d
                     FROM raw.crossing_events e JOIN ops.cameras c USING (camera_id)
                     JOIN ops.sites s USING (site_id)) AS local_days""")}) for i in range(3))
        outside = rows_outside_partitions(conn, HOURLY_SOURCES.values(), *hourly_window())
    for firing in outside:  # rows of the user's own, or a clock ahead: reported, never a traceback
        console.print(f"[yellow]not rolled up:[/] {firing.message}")
    log_path = home / "logs" / "demo-pipelines.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    terminal = Console(file=sys.stdout)  # the run lines; all else printed during the runs goes to the log
    failed = 0

    def run(job: str, partition: str | None, execute: Callable[[], dg.ExecuteInProcessResult]) -> None:
        nonlocal failed
        started = time.monotonic()
        ok = execute().success
        failed += not ok
        state = "ok" if ok else "[red]FAILED[/]"
        terminal.print(f"{job:<20} {partition or '-':<17} {state:<6} {time.monotonic() - started:6.1f} s")

    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    with (log_path.open("w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log),
          dg.DagsterInstance.get() as instance):
        ensure_pools(instance)  # before `dagster dev` queues its first dbt runs
        if orphaned := fail_orphaned_runs(instance):  # no Dagster process of this demo runs yet
            terminal.print(f"{len(orphaned)} run(s) the last demo left unfinished: marked failed, to be retried")
        for job, partitions, keys in (("hourly_rollups_job", HOURLY, hours), ("daily_rollups_job", DAILY, days),
                                      ("weekly_rollups_job", WEEKLY, weeks), ("monthly_rollups_job", MONTHLY, months)):
            for key in filter(partitions.has_partition_key, keys):
                run(job, key, lambda job=job, key=key: defs.resolve_job_def(job).execute_in_process(
                    instance=instance, partition_key=key, run_config=quiet, raise_on_error=False))
        run("marts (dbt build)", None, lambda: dg.materialize(
            [camcount_dbt_assets], resources={"dbt": dbt_resource()}, instance=instance, run_config=quiet,
            raise_on_error=False))
        for day in filter(DAILY.has_partition_key, days):
            run("daily_report_job", day, lambda day=day: defs.resolve_job_def("daily_report_job").execute_in_process(
                instance=instance, partition_key=day, run_config=quiet, raise_on_error=False))
        docs = generate_docs(home / "dbt-docs")
    if failed:
        console.print(f"[red]{failed} run(s) failed[/]: why is in the log below, and in the Dagster UI")
    console.print(f"KPI reports: {home / 'reports'}")
    console.print(f"dbt docs (static site, open in a browser): {docs}")
    console.print(f"Dagster and dbt output: {log_path}")


def _serve_ui_with_live_cameras(home: Path) -> None:
    """Two looping cameras stream the clip live while `dagster dev` serves the UI (127.0.0.1:3000);
    sensors roll the new data up and keep the marts fresh. Ctrl-C stops everything."""
    import yaml

    live = _demo_document()
    template = live["cameras"][0]
    clip = (DEMO_CONFIG.parent / template["source"]).resolve()  # the live config lives elsewhere ($CAMCOUNT_HOME)
    live["cameras"] = [
        {**template, "id": f"plaza-live-{n}", "name": f"Plaza live {n}", "source": str(clip), "playback": "native",
         "loop": True, "start_at": None} for n in (1, 2)
    ]
    ui_port, api_port = os.environ.get("CAMCOUNT_UI_PORT", "3000"), os.environ.get("CAMCOUNT_API_PORT", "8080")
    live_config = home / "demo" / "live.yaml"
    live_config.parent.mkdir(parents=True, exist_ok=True)
    live_config.write_text(yaml.safe_dump(live, sort_keys=False))
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "DAGSTER_DISABLE_TELEMETRY": "1"}
    camcount = str(REPO / ".venv/bin/camcount")
    worker = Supervised("the live worker", [camcount, "worker", "run", "--config", str(live_config)], _warn,
                        cwd=REPO, env=env)
    ui = subprocess.Popen([str(REPO / ".venv/bin/dagster"), "dev", "-w", "workspace.yaml", *UI_ADDRESS,
                           "--port", ui_port], cwd=REPO, env=env, start_new_session=True)
    api = Supervised("the API (camcount serve)", [camcount, "serve", "--port", api_port], _warn, cwd=REPO, env=env)
    console.print(f"Dagster UI: http://127.0.0.1:{ui_port}  (live cameras plaza-live-1/2 streaming; Ctrl-C to stop)")
    console.print(f"Live page and API: http://127.0.0.1:{api_port}  (OpenAPI docs: http://127.0.0.1:{api_port}/docs)")
    # Ctrl-C or SIGTERM end the demo cleanly, even when started from a script that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while ui.poll() is None:  # the UI's end is the demo's end; the worker and API are restarted
            worker.check()
            api.check()
            time.sleep(1)
        console.print(f"[red]the Dagster UI (dagster dev) exited with status {ui.returncode}; stopping the demo[/]")
    except KeyboardInterrupt:
        pass
    finally:
        api.terminate(grace_s=10)
        stop_group(ui)
        worker.terminate()


def _warn(message: str) -> None:
    console.print(f"[red]{message}[/]")


def _print_database_summary() -> None:
    with connect() as conn:
        crossings = conn.execute(
            """SELECT camera_id, line_id,
                      count(*) FILTER (WHERE direction = 'in'), count(*) FILTER (WHERE direction = 'out')
               FROM raw.crossing_events GROUP BY 1, 2 ORDER BY 1, 2"""
        ).fetchall()
        tables = conn.execute(
            """SELECT table_schema, table_name FROM information_schema.tables
               WHERE table_schema IN ('raw', 'rollup', 'marts') AND table_type = 'BASE TABLE'
               ORDER BY array_position(ARRAY['raw', 'rollup', 'marts'], table_schema::text), table_name""").fetchall()
        counts = [(f"{schema}.{name}", conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()[0])
            for schema, name in tables]
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

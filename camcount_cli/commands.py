"""The `camcount` commands: database, worker, archive, serve, demo.

`main` imports this module only once its Ctrl-C handling is in place: loading these commands
(OpenCV, Dagster, polars) takes most of a second.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import polars as pl

from camcount.db.cluster import Cluster, embedded_cluster_in_use
from camcount.db.dsn import DAGSTER_DB, DATA_DB, database_url
from camcount.db.migrate import migrate as apply_migrations
from camcount.db.migrate import pending_migrations
from camcount.db.schema import RAW_TABLE_NAMES
from camcount.redact import redact_dsn
from camcount_cli.demo import demo
from camcount_cli.serve import serve
from camcount_pipelines.archive.parquet import read_archive
from realtime_worker.cli import worker
from realtime_worker.fleet.cli import cameras, fleet


@click.group()
def cli() -> None:
    """camcount: real-time people counting into TimescaleDB, with Dagster and dbt downstream."""


@cli.group()
def db() -> None:
    """The database: embedded TimescaleDB cluster, or yours via CAMCOUNT_DATABASE_URL."""


@db.command()
def start() -> None:
    """Start the embedded cluster (create it on first use) and its databases."""
    if not embedded_cluster_in_use():
        click.echo("CAMCOUNT_DATABASE_URL is set: camcount uses that server; no embedded cluster started.")
        return
    cluster = Cluster.default()
    cluster.start()
    click.echo(f"embedded TimescaleDB running: {cluster.url()} (data in {cluster.data_dir})")


@db.command()
def stop() -> None:
    """Stop the embedded cluster."""
    Cluster.default().stop()
    click.echo("embedded TimescaleDB stopped")


@db.command()
def status() -> None:
    """Say which database camcount uses, whether it runs, and pending migrations."""
    if embedded_cluster_in_use():
        cluster = Cluster.default()
        state = "running" if cluster.is_running() else "stopped"
        click.echo(f"embedded TimescaleDB ({cluster.data_dir}): {state}")
        if state == "stopped":
            sys.exit(3)
    else:
        click.echo(f"external database: {redact_dsn(database_url())}")
    pending = pending_migrations()
    click.echo(f"pending migrations: {', '.join(pending) if pending else 'none'}")


@db.command()
@click.option("--dagster", is_flag=True, help="Print the Dagster instance storage URL instead.")
@click.option("--show-password", is_flag=True, help="Print the password too (default: masked as ***).")
def url(dagster: bool, show_password: bool) -> None:
    """Print the database URL (DSN) camcount uses; its password is masked unless asked for, so
    the command is safe in terminals, screen shares and CI logs."""
    dsn = database_url(DAGSTER_DB if dagster else DATA_DB)
    click.echo(dsn if show_password else redact_dsn(dsn))


@db.command()
def migrate() -> None:
    """Apply pending schema migrations (a no-op when up to date)."""
    applied = apply_migrations()
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema up to date")


@cli.group()
def archive() -> None:
    """The Parquet archive of raw data (written by Dagster's raw_archive asset)."""


@archive.command()
@click.argument("table", type=click.Choice(RAW_TABLE_NAMES))
@click.option("--start", required=True, type=click.DateTime(), help="UTC, inclusive (e.g. 2026-01-31).")
@click.option("--end", required=True, type=click.DateTime(), help="UTC, exclusive.")
@click.option("--camera", "camera_id", help="Only this camera.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the rows here.")
def query(table: str, start: datetime, end: datetime, camera_id: str | None, csv_path: Path | None) -> None:
    """Read archived raw rows back from the verified Parquet files."""
    rows = read_archive(table, start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    if camera_id and not rows.is_empty():
        rows = rows.filter(pl.col("camera_id") == camera_id)
    if csv_path:
        rows.write_csv(csv_path)
    click.echo(f"{len(rows)} archived rows of raw.{table} in [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) UTC"
               + (f" written to {csv_path}" if csv_path else ""))
    if not csv_path and not rows.is_empty():
        click.echo(rows.head(20))


cli.add_command(worker)
cli.add_command(cameras)
cli.add_command(fleet)
cli.add_command(demo)
cli.add_command(serve)

"""`camcount cameras apply FILE` and `camcount fleet status`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from camcount.db import connect
from camcount.db.dsn import database_url
from realtime_worker.fleet.config import apply_file
from realtime_worker.fleet.status import fleet_status

console = Console()


@click.group()
def cameras() -> None:
    """The fleet's sites, cameras, lines and zones, kept in the database for `worker run --fleet`."""


@cameras.command("apply")
@click.argument("config_path", type=click.Path(path_type=Path))
def apply(config_path: Path) -> None:
    """Make FILE (a worker config, validated as one) the fleet's config; running fleet workers pick
    it up within seconds. `${VAR}` references are stored as written, never their values."""
    with connect(database_url()) as conn:
        applied = apply_file(conn, config_path)
    click.echo(f"fleet config version {applied.version}: {len(applied.cameras)} cameras"
               + (f"; removed from the fleet: {', '.join(applied.removed)}" if applied.removed else ""))


@click.group()
def fleet() -> None:
    """The fleet of workers: who is alive and who counts which camera."""


@fleet.command("status")
def status() -> None:
    """Workers and their heartbeats, cameras per worker, lease ages, and unowned cameras."""
    with connect(database_url()) as conn:
        workers, leases = fleet_status(conn)
    table = Table(title="workers")
    for column in ("worker", "host", "version", "heartbeat", "cameras", "capacity"):
        table.add_column(column)
    for w in workers:
        beat = f"{w.heartbeat_age_s:.0f} s ago" + ("" if w.alive else " (silent)")
        table.add_row(w.worker_id, w.host, w.version, beat, str(w.cameras), str(w.capacity))
    console.print(table)
    table = Table(title="cameras")
    for column in ("camera", "worker", "epoch", "lease age", "expires in"):
        table.add_column(column)
    for c in leases:
        table.add_row(c.camera_id, c.worker_id if c.owned else f"none (last: {c.worker_id or '-'})", str(c.epoch),
                      "-" if c.lease_age_s is None else f"{c.lease_age_s:.0f} s",
                      f"{c.expires_in_s:.0f} s" if c.owned else "unowned")
    console.print(table)
    unowned = [c.camera_id for c in leases if not c.owned]
    alive = sum(w.alive for w in workers)
    console.print(f"{alive} of {len(workers)} workers alive; {len(leases) - len(unowned)} of {len(leases)} cameras "
                  f"owned" + (f"; unowned: {', '.join(unowned)}" if unowned else ""))

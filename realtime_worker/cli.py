"""`camcount worker ...`: run, check a config, place lines on a snapshot, process a file offline."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from camcount.db.dsn import database_url
from camcount.errors import ExitCode, SourceError, SpoolError
from camcount.settings import camcount_home
from realtime_worker.config import load_config
from realtime_worker.runner import RunSummary, run_worker

console = Console(stderr=False)


@click.group()
def worker() -> None:
    """The realtime worker: cameras -> detector -> tracker -> counts -> TimescaleDB."""


@worker.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help="Worker YAML file.")
@click.option("--camera", "camera_ids", multiple=True, help="Run only these camera ids (repeatable).")
def run(config_path: Path, camera_ids: tuple[str, ...]) -> None:
    """Run the worker until its file sources end, or until SIGTERM/SIGINT (then it flushes)."""
    config = load_config(config_path)
    for camera_id in camera_ids:
        config.camera(camera_id)  # unknown ids fail before anything starts
    _setup_logging()
    summary = run_worker(config, database_url=database_url(), home=camcount_home(),
                         camera_ids=list(camera_ids) or None, stop=_stop_on_signals())
    print_summary(summary)
    _fail_on_partial_loss(summary)


@worker.command("check-config")
@click.argument("config_path", type=click.Path(path_type=Path))
def check_config(config_path: Path) -> None:
    """Validate a worker config file and say what it contains."""
    config = load_config(config_path)
    lines = sum(len(c.lines) for c in config.cameras)
    zones = sum(len(c.zones) for c in config.cameras)
    click.echo(f"{config_path}: ok ({len(config.sites)} sites, {len(config.cameras)} cameras, "
               f"{lines} lines, {zones} zones; detector {config.detector.backend})")


def print_summary(summary: RunSummary) -> None:
    table = Table(title="crossings counted")
    for column in ("camera", "line", "class", "in", "out"):
        table.add_column(column)
    keys = sorted({(cam, line, cls) for cam, line, _, cls in summary.crossings})
    for cam, line, cls in keys:
        table.add_row(cam, line, cls, str(summary.crossings[(cam, line, "in", cls)]),
                      str(summary.crossings[(cam, line, "out", cls)]))
    console.print(table)
    frames = ", ".join(f"{cam}: {n}" for cam, n in sorted(summary.frames.items()))
    console.print(f"frames processed: {frames or 'none'}")
    if summary.spooled_rows:
        console.print(f"rows spooled while the database was away: {summary.spooled_rows}")


def _fail_on_partial_loss(summary: RunSummary) -> None:
    if summary.dropped_rows:
        raise SpoolError(f"{summary.dropped_rows} rows were dropped because the spool was full; "
                         "raise sink.spool_quota_mb or free disk space")
    if summary.failed_cameras:
        raise SourceError("; ".join(f"camera {cid}: {msg}" for cid, msg in summary.failed_cameras.items()),
                          ExitCode.SOURCE)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        logging.getLogger("camcount").warning("%s received: flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

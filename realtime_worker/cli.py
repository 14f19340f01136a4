"""`camcount worker ...`: run, check a config, place lines on a snapshot, process a file offline."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import click
import cv2
import numpy as np
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table

from camcount.db.dsn import database_url
from camcount.errors import ExitCode, SinkError, SourceError
from camcount.settings import camcount_home
from realtime_worker.assembly import build_detector, build_tiling, start_capture
from realtime_worker.config import file_camera, load_config
from realtime_worker.detect.tiling import run_tiled
from realtime_worker.draw import annotate
from realtime_worker.fleet.worker import default_worker_id, run_fleet_worker
from realtime_worker.runner import RunSummary, run_worker
from realtime_worker.sink.db import BatchWriter
from realtime_worker.sink.deadletter import DeadLetters, deadletter_dir

console = Console(stderr=False)


@click.group()
def worker() -> None:
    """The realtime worker: cameras -> detector -> tracker -> counts -> TimescaleDB."""


@worker.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Worker YAML file.")
@click.option("--camera", "camera_ids", multiple=True, help="Run only these camera ids (repeatable).")
@click.option("--fleet", is_flag=True, help="Lease cameras from the fleet config in the database instead of --config.")
@click.option("--worker-id", envvar="CAMCOUNT_WORKER_ID", default=default_worker_id, show_default="pod/host name",
              help="--fleet: this worker's id (a restarted worker keeps its id, and its spool).")
@click.option("--capacity", envvar="CAMCOUNT_WORKER_CAPACITY", type=click.IntRange(1), default=8, show_default=True,
              help="--fleet: the most cameras this worker counts.")
def run(config_path: Path | None, camera_ids: tuple[str, ...], fleet: bool, worker_id: str, capacity: int) -> None:
    """Run the worker until its file sources end, or until SIGTERM/SIGINT (then it flushes)."""
    if fleet == (config_path is not None) or (fleet and camera_ids):
        raise click.UsageError("give either --config FILE [--camera ID ...] or --fleet")
    if fleet:
        _setup_logging()
        summary = run_fleet_worker(database_url=database_url(), home=camcount_home(), worker_id=worker_id,
                                   capacity=capacity, stop=_stop_on_signals())
        print_summary(summary)
        _fail_on_partial_loss(summary)
        return
    config = load_config(config_path)
    for camera_id in camera_ids:
        config.camera(camera_id)  # unknown ids fail before anything starts
    _setup_logging()
    summary = run_worker(config, database_url=database_url(), home=camcount_home(),
                         camera_ids=list(camera_ids) or None, stop=_stop_on_signals())
    print_summary(summary, [(c.id, line.id) for c in config.cameras for line in c.lines])
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


@worker.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", required=True, help="Camera whose source and geometry to use.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="PNG file to write.")
@click.option("--skip", default=0, show_default=True, help="Frames to skip first (files and live).")
def snapshot(config_path: Path, camera_id: str, out: Path, skip: int) -> None:
    """Write one frame with the camera's lines, zones and detections drawn, to place lines."""
    config = load_config(config_path)
    camera = config.camera(camera_id)
    capture = start_capture(camera)
    try:
        frame = None
        for _ in range(skip + 1):
            frame = capture.get(timeout=30)
            if frame is None:
                break
    finally:
        capture.stop()
    if frame is None:
        raise capture.error or SourceError(f"camera {camera.id}: no frame within 30 s")
    plan = build_tiling(camera, config).plan(frame.image)  # what the worker would detect on
    detections = run_tiled(build_detector(config.detector), [frame.image], [plan], config.detector.max_batch)
    if not cv2.imwrite(str(out), annotate(frame.image, camera, detections.detections[0], plan)):
        raise SourceError(f"cannot write {out}", ExitCode.USAGE)
    found = detections.detections[0]
    heights = found.xyxy[:, 3] - found.xyxy[:, 1]
    click.echo(f"{out}: frame {frame.index}, {len(found)} detections, {len(camera.lines)} lines, "
               f"{len(camera.zones)} zones; {config.detector.backend}, {plan.describe()}"
               + (f"; median box height {float(np.median(heights)):.0f} px (person_height_px)" if len(found) else ""))


@worker.command()
@click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", help="Camera whose geometry to use (default: the first).")
def process(video: Path, config_path: Path, camera_id: str | None) -> None:
    """Count a video file offline (as fast as possible) into the database, with progress."""
    config = load_config(config_path)
    camera = config.camera(camera_id) if camera_id else config.cameras[0]
    camera = file_camera(camera, video)
    config = config.model_copy(update={"cameras": [camera]})
    _setup_logging()
    total = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)) or None
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task(f"{video.name} as {camera.id}", total=total)
        summary = run_worker(config, database_url=database_url(), home=camcount_home(), camera_ids=None,
                             stop=_stop_on_signals(), on_frames=lambda n: progress.advance(task, n))
    print_summary(summary, [(camera.id, line.id) for line in camera.lines])
    _fail_on_partial_loss(summary)


@worker.group()
def deadletter() -> None:
    """Rows the database rejected for good (a constraint, a bad value), kept in $CAMCOUNT_HOME/deadletter/."""


@deadletter.command("list")
def deadletter_list() -> None:
    """Show each dead-letter file: rows per table, the database they are meant for, and why."""
    letters = DeadLetters(deadletter_dir(camcount_home()))
    lines = letters.describe()
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} dead-letter files in {letters.directory}")


@deadletter.command("replay")
def deadletter_replay() -> None:
    """Retry every dead-lettered row once the cause is fixed; rows rejected again stay, with the new reason."""
    letters = DeadLetters(deadletter_dir(camcount_home()))
    writer = BatchWriter(database_url())
    try:
        report = letters.replay(writer)
    finally:
        writer.close()
    click.echo(f"{report.written} rows written, {report.still_rejected} rejected again")
    for path, database in report.refused:
        click.echo(f"{path}: meant for {database}, not this database: kept")
    if report.still_rejected or report.refused:
        raise SinkError(f"{report.still_rejected} rows rejected again, {len(report.refused)} files for another "
                        f"database: kept in {letters.directory}; `camcount worker deadletter list` says why")


def print_summary(summary: RunSummary, lines: Sequence[tuple[str, str]] = ()) -> None:
    """Crossings per camera, line and class; the (camera, line) pairs in `lines` appear even when nobody crossed."""
    table = Table(title="crossings counted")
    for column in ("camera", "line", "class", "in", "out"):
        table.add_column(column)
    counted = {(cam, line, cls) for cam, line, _, cls in summary.crossings}
    keys = sorted(counted | {(cam, line, "-") for cam, line in lines if not any(k[:2] == (cam, line) for k in counted)})
    for cam, line, cls in keys:
        table.add_row(cam, line, cls, str(summary.crossings[(cam, line, "in", cls)]),
                      str(summary.crossings[(cam, line, "out", cls)]))
    console.print(table)
    for camera_id, detection in sorted(summary.detection.items()):
        console.print(f"detector on {camera_id}: {detection}")
    frames = ", ".join(f"{cam}: {n}" for cam, n in sorted(summary.frames.items()))
    console.print(f"frames processed: {frames or 'none'}")
    if summary.sink.spooled_rows:
        console.print(f"rows spooled while the database was away: {summary.sink.spooled_rows}")


def _fail_on_partial_loss(summary: RunSummary) -> None:
    if (error := summary.sink.error()) is not None:
        raise error
    if summary.failed_cameras:
        raise SourceError("; ".join(summary.failed_cameras.values()), ExitCode.SOURCE)


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

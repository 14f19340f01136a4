"""Dagster's own daemon loops, one iteration at a time in the test process, over a real instance:
what `dagster dev` runs, minus the wall clock. The code location is loaded in-process, so the
sensors read the database this test process points at (CAMCOUNT_DATABASE_URL)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.launcher import LaunchRunContext
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.scheduler.instigation import InstigatorTick
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._serdes.config_class import ConfigurableClassData

REPO = Path(__file__).resolve().parents[2]
# Runs wait in the queue: nothing dequeues them unless a test drives the run queue itself.
QUEUED_RUNS = {"run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"}}
THREAD_LAUNCHER = {"run_launcher": {"module": __name__, "class": "ThreadRunLauncher"}}


class ThreadRunLauncher(SyncInMemoryRunLauncher):
    """Executes each launched run in a thread of this process, where `dagster dev` starts a process
    per run (seconds each): the run queue still decides what starts when."""

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(inst_data)
        self._threads: list[threading.Thread] = []

    def launch_run(self, context: LaunchRunContext) -> None:
        thread = threading.Thread(target=super().launch_run, args=(context,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self, timeout: float = 30) -> None:
        for thread in self._threads:
            thread.join(timeout)


def code_location(module: str = "camcount_pipelines.definitions", attribute: str = "defs",
                  name: str = "camcount") -> InProcessWorkspaceLoadTarget:
    """A code location loaded in this process: camcount's own by default."""
    origin = LoadableTargetOrigin(executable_path=sys.executable, module_name=module, attribute=attribute,
                                  working_directory=str(REPO))
    return InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name=name))


@contextmanager
def daemon_workspace(instance: dg.DagsterInstance,
                     target: InProcessWorkspaceLoadTarget | None = None) -> Iterator[WorkspaceProcessContext]:
    with create_test_daemon_workspace_context(target or code_location(), instance) as workspace:
        yield workspace


def repository(workspace: WorkspaceProcessContext) -> RemoteRepository:
    [entry] = workspace.create_request_context().get_code_location_entries().values()
    [repo] = entry.code_location.get_repositories().values()
    return repo


def tick_sensors(workspace: WorkspaceProcessContext, at: datetime | None = None,
                 crash: dict[str, dict[str, signal.Signals]] | None = None) -> None:
    """One loop of the sensor daemon (at wall time `at`): every running sensor due for a tick ticks.
    `crash` is Dagster's fault injection: {sensor: {"RUN_CREATED": signal}} kills this process there."""
    logger = logging.getLogger("sensor-daemon")
    with freeze_time(at) if at is not None else nullcontext():
        list(execute_sensor_iteration(workspace, logger, None, None, {}, crash))


def latest_ticks(workspace: WorkspaceProcessContext) -> dict[str, InstigatorTick]:
    """Each sensor's latest tick, by sensor name (sensors that never ticked are absent)."""
    instance = workspace.instance
    ticks = {}
    for sensor in repository(workspace).get_sensors():
        found = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
        if found:
            ticks[sensor.name] = found[0]
    return ticks

"""Child processes the shell starts, keeps alive and must stop cleanly (the demo's worker, API and
`dagster dev`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any


def stop_group(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop a process started with `start_new_session=True`, and its whole group.

    Started from a script, `dagster dev` may ignore SIGINT/SIGTERM (no job control), so the group
    gets SIGINT, then SIGTERM, then SIGKILL, each after `grace_s` if it lingers.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace_s)


class Supervised:
    """A long-running child the demo keeps alive: when it dies on its own (a crash, a kill, an
    error exit) it says so in one line and starts it again, waiting longer after each death (5 s,
    then doubling to 60 s) so a child that cannot start does not spin. A clean exit (status 0, e.g.
    someone sent the worker SIGTERM to stop it) is reported and left alone."""

    def __init__(self, name: str, command: list[str], say: Callable[[str], None], *, first_delay_s: float = 5.0,
                 max_delay_s: float = 60.0, **popen: Any) -> None:
        self.name, self.command, self.say, self.popen = name, command, say, popen
        self.process = subprocess.Popen(command, **popen)
        self.delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.restart_at: float | None = None
        self.stopped = False

    def check(self) -> None:
        """Notice a death and restart when due; call it every second or so."""
        if self.stopped:
            return
        if self.restart_at is not None:
            if time.monotonic() >= self.restart_at:
                self.process, self.restart_at = subprocess.Popen(self.command, **self.popen), None
            return
        code = self.process.poll()
        if code == 0:
            self.say(f"{self.name} stopped (exit status 0); not restarted")
            self.stopped = True
        elif code is not None:
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            self.say(f"{self.name} died ({how}); restarting in {self.delay_s:.0f} s")
            self.restart_at = time.monotonic() + self.delay_s
            self.delay_s = min(self.delay_s * 2, self.max_delay_s)

    def terminate(self, grace_s: float = 30.0) -> None:
        """SIGTERM (the worker flushes its last rows), SIGKILL after `grace_s`."""
        self.stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()

"""Child processes the shell starts and must stop cleanly (the demo's `dagster dev`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


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

"""Durable files for the sink: a file is whole or absent, never torn, never overwritten by another.

Written to a unique temporary name, fsynced, then renamed, and the directory fsynced: a crash
leaves either the whole file or none. Names carry a nanosecond stamp (they sort by age) and a
random token (two writers in one directory never pick the same name).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def stamped_name(suffix: str, after_ns: int = 0) -> tuple[int, str]:
    """A new file name that sorts after any stamped `after_ns` and collides with no other writer's."""
    stamp = max(time.time_ns(), after_ns + 1)
    return stamp, f"{stamp:020d}-{secrets.token_hex(6)}{suffix}"


def name_stamp(path: Path) -> int:
    """The stamp of a `stamped_name` (0 for any other name)."""
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def write_durably(path: Path, payload: bytes) -> None:
    """Write `path` whole or not at all; raises OSError (and leaves nothing) when it cannot."""
    temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
    try:
        with open(temporary, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
        fsync_dir(path.parent)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

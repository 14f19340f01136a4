"""A durable local spool for batches the database could not take.

Each batch is one segment file, written to a temporary name, fsynced, then renamed: a crash
leaves either a whole segment or none, never a torn one. Segments are replayed oldest first
and deleted only after the database committed them; since every row has a deterministic key,
a segment replayed twice (crash between commit and delete) inserts nothing twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from realtime_worker.sink.rows import TableRow


class SpoolFull(Exception):
    """The batch does not fit under the quota (or the disk is full); it was not written."""


class Spool:
    def __init__(self, directory: Path, quota_bytes: int) -> None:
        self.directory = directory
        self.quota_bytes = quota_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob("*.tmp"):  # torn writes from a crash: never renamed, never valid
            leftover.unlink()
        self._next = max((int(p.stem) for p in self._segments()), default=0) + 1

    def _segments(self) -> list[Path]:
        return sorted(self.directory.glob("*.jsonl"))

    def __len__(self) -> int:
        return len(self._segments())

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._segments())

    def append(self, batch: list[TableRow]) -> None:
        payload = "".join(json.dumps([row.table, row.values]) + "\n" for row in batch).encode()
        if self.size_bytes() + len(payload) > self.quota_bytes:
            raise SpoolFull(f"spool quota of {self.quota_bytes / 1e6:.0f} MB reached in {self.directory}")
        final = self.directory / f"{self._next:012d}.jsonl"
        temporary = final.with_suffix(".tmp")
        try:
            with open(temporary, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(temporary, final)
            _fsync_dir(self.directory)
        except OSError as exc:  # ENOSPC and friends: leave no partial segment behind
            temporary.unlink(missing_ok=True)
            raise SpoolFull(f"cannot write spool segment in {self.directory}: {exc.strerror}") from None
        self._next += 1

    def oldest(self) -> tuple[Path, list[TableRow]] | None:
        segments = self._segments()
        if not segments:
            return None
        lines = segments[0].read_text().splitlines()
        rows = [TableRow(table, tuple(values)) for table, values in map(json.loads, lines)]
        return segments[0], rows

    def remove(self, segment: Path) -> None:
        segment.unlink()
        _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

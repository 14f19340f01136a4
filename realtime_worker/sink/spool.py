"""A durable local spool for batches the database could not take.

Each batch is one segment file, written whole or not at all (`files.write_durably`), named so
that segments sort by age and two writers never pick the same name. A segment's first line says
which database its rows are meant for (`DatabaseIdentity`) and how many rows follow, so a
truncated or foreign segment is recognised before anything is written. Segments are replayed
oldest first and deleted only after the database committed them; since every row has a
deterministic key, a segment replayed twice (crash between commit and delete) inserts nothing twice.

One worker owns a spool directory (`SpoolLock`); each worker's spool is a sub-directory of the
spool root named after the cameras it runs (`worker_spool_dir`), so workers sharing a
`$CAMCOUNT_HOME` never touch each other's segments and a restarted worker finds its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from camcount.db.schema import RAW_TABLES
from camcount.errors import SpoolError
from camcount.units import readable_bytes
from realtime_worker.sink.db import DatabaseIdentity
from realtime_worker.sink.files import TEMPORARY_SUFFIX, fsync_dir, name_stamp, stamped_name, write_durably
from realtime_worker.sink.rows import LeaseStamp, TableRow

SEGMENT_SUFFIX = ".jsonl"


class SpoolFull(Exception):
    """The batch does not fit under the quota (or the disk is full); it was not written."""


class CorruptSegment(Exception):
    """A segment that cannot be read back whole: it is quarantined, never half-replayed."""


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path
    database: DatabaseIdentity  # the database its rows are meant for
    rows: list[TableRow]


def worker_spool_dir(root: Path, camera_ids: Iterable[str]) -> Path:
    """The spool of the worker that runs exactly these cameras: the same after a restart, and
    distinct for every other set of cameras."""
    digest = hashlib.sha256("\n".join(sorted(camera_ids)).encode()).hexdigest()[:12]
    return root / f"worker-{digest}"


class SpoolLock:
    """An exclusive lock on a spool directory for the life of its worker (released by the kernel
    if the worker dies). Whoever holds it may clear the torn writes of a crash."""

    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot use {directory} as the spool: {exc.strerror or exc}; "
                             "set sink.spool_dir to a writable directory") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            raise SpoolError(f"spool {directory} is in use by another worker (pid {owner}) running the same "
                             "cameras; stop that worker, or give this one its own sink.spool_dir") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)
        for leftover in directory.glob(f"*{TEMPORARY_SUFFIX}"):  # torn writes of a crash: never valid
            leftover.unlink()

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = -1


class Spool:
    def __init__(self, directory: Path, quota_bytes: int) -> None:
        self.directory = directory
        self.quota_bytes = quota_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._last_stamp = max(map(name_stamp, self.segments()), default=0)
        self._rows: dict[Path, int] = {}  # rows per segment, known without reading it again

    def segments(self) -> list[Path]:
        """Oldest first."""
        return sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"))

    def __len__(self) -> int:
        return len(self.segments())

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.segments())

    def rows_waiting(self) -> int:
        """Rows in the segments, from their first lines (unreadable ones count none); a segment's
        count is read once. Safe to call from another thread than the sink's."""
        known = self._rows
        counts = {path: known[path] if path in known else _header_rows(path) for path in self.segments()}
        self._rows = counts  # drops segments gone (replayed, quarantined)
        return sum(counts.values())

    def append(self, batch: list[TableRow], database: DatabaseIdentity) -> None:
        payload = _segment_payload(batch, database)
        if self.size_bytes() + len(payload) > self.quota_bytes:
            raise SpoolFull(f"spool quota of {readable_bytes(self.quota_bytes)} reached in {self.directory}")
        self._last_stamp, name = stamped_name(SEGMENT_SUFFIX, self._last_stamp)
        try:
            write_durably(self.directory / name, payload)
        except OSError as exc:  # ENOSPC and friends: no partial segment is left behind
            raise SpoolFull(f"cannot write spool segment in {self.directory}: {exc.strerror or exc}") from None
        self._rows[self.directory / name] = len(batch)

    def read(self, path: Path) -> Segment:
        """The segment at `path`; raises CorruptSegment when it is unreadable, truncated or malformed."""
        try:
            header, *lines = path.read_text().splitlines()
            meta = json.loads(header)
            rows = [_table_row(json.loads(line)) for line in lines]
            database = DatabaseIdentity.from_json(meta["database"])
            if len(rows) != meta["rows"]:
                raise ValueError(f"{len(rows)} rows where its header says {meta['rows']}: truncated")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptSegment(f"{path.name}: {exc}") from None
        return Segment(path, database, rows)

    def replace(self, segment: Segment, rows: list[TableRow]) -> None:
        """Keep only `rows` of a segment, in its place in the order (the rest was written)."""
        write_durably(segment.path, _segment_payload(rows, segment.database))
        self._rows[segment.path] = len(rows)

    def remove(self, segment: Path) -> None:
        segment.unlink()
        self._rows.pop(segment, None)
        fsync_dir(self.directory)


def _segment_payload(batch: list[TableRow], database: DatabaseIdentity) -> bytes:
    header = json.dumps({"database": database.to_json(), "rows": len(batch)})
    return "".join([header + "\n", *(json.dumps(_line(row)) + "\n" for row in batch)]).encode()


def _line(row: TableRow) -> list:
    """`[table, values]`, and `[epoch, at]` after them for a row stamped with a lease (fleet mode)."""
    return [row.table, row.values] if row.lease is None else [row.table, row.values, [row.lease.epoch, row.lease.at]]


def _header_rows(path: Path) -> int:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError), open(path) as fh:
        return int(json.loads(fh.readline())["rows"])
    return 0


def _table_row(item: object) -> TableRow:
    """A spooled `[table, values(, lease)]` line back as a row (a row spooled before a late column was
    added gets NULL there); a shape no raw table has is a ValueError."""
    table, values, *lease = item  # type: ignore[misc]
    if table not in RAW_TABLES or not isinstance(values, list) or len(lease) > 1:
        raise ValueError(f"not a row of a raw table: {str(item)[:80]}")
    try:
        stamp = LeaseStamp(int(lease[0][0]), float(lease[0][1])) if lease else None
        return TableRow(table, RAW_TABLES[table].widen(values), stamp)
    except (ValueError, TypeError, IndexError):
        raise ValueError(f"not a row of a raw table: {str(item)[:80]}") from None

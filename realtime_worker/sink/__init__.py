"""The sink: batches rows to TimescaleDB every <= 1 s, and spools them when it is down.

Ordering rule: while the spool holds anything it may replay, new batches go to the spool too, so
rows reach the database in the order they were produced. A background thread flushes on time or
size and retries the spool; `close()` (on SIGTERM/SIGINT) makes a last attempt and spools the rest.

No row is lost or blocked silently. A row the database rejects for good is dead-lettered and the
rest of its batch written; an unreadable spool segment is quarantined and the rest replayed; a
segment meant for another database is refused and kept; rows that find the spool full are
dropped. Each raises an alarm: a log line, a `platform_events` row and a figure in `SinkStats`
(hence `/metrics` and the exit code). The thread is supervised: an unexpected error stops it
once, loudly, and the worker ends non-zero with every pending row kept in the spool.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from camcount.db import error_reason
from camcount.db.schema import RAW_TABLES
from camcount.errors import CamcountError, SinkError, SpoolError
from realtime_worker.sink.db import BatchWriter, DatabaseIdentity, Fence, write_isolating
from realtime_worker.sink.deadletter import DeadLetters, deadletter_dir
from realtime_worker.sink.files import stamped_name
from realtime_worker.sink.rows import TableRow, platform_event_row
from realtime_worker.sink.spool import CorruptSegment, Spool, SpoolFull, SpoolLock
from realtime_worker.types import PlatformEvent, Severity

log = logging.getLogger(__name__)


def quarantine_dir(home: Path) -> Path:
    return home / "quarantine"


@dataclass
class SinkStats:
    """Where the rows given to the sink went; read by health, `/metrics` and the run summary."""

    inserted: Counter[str] = field(default_factory=Counter)  # rows new to the database, per table
    written_rows: int = 0  # rows the database holds (new, or already there from an earlier run)
    spooled_rows: int = 0  # rows spooled while the database was away (replayed later)
    dead_lettered_rows: int = 0  # rejected by the database for good, kept under deadletter/
    fenced_rows: int = 0  # fleet mode: stamped after their camera's lease expired, kept under quarantine/
    quarantined_segments: int = 0  # unreadable spool segments moved to quarantine/
    refused_segments: int = 0  # spool segments meant for another database, kept in the spool
    dropped_rows: int = 0  # lost because the spool was full
    spool_segments: int = 0  # segments waiting in the spool now
    database_up: bool = True
    failure: str | None = None  # why the sink thread stopped

    def error(self) -> CamcountError | None:
        """The error a run ends with when some rows did not reach the database (README, "Exit
        codes"); None when every row was written or is spooled for the next run."""
        if self.dropped_rows:
            return SpoolError(f"{self.dropped_rows} rows were dropped because the spool was full; "
                              "raise sink.spool_quota_mb or free disk space")
        if self.failure:
            return SinkError(f"the sink stopped: {self.failure}; rows not written are kept in the spool "
                             "and replayed by the next run")
        kept_aside = [
            f"{n} {what}" for n, what in (
                (self.dead_lettered_rows, "rows rejected by the database were dead-lettered "
                                          "(`camcount worker deadletter list`)"),
                (self.quarantined_segments, "unreadable spool segments were quarantined"),
                (self.refused_segments, "spool segments meant for another database were kept, not replayed"),
                (self.fenced_rows, "rows counted after their camera's lease had expired were quarantined"),
            ) if n
        ]
        if kept_aside:
            return SinkError("; ".join(kept_aside) + " (the ALARM lines above say where)")
        return None


class EventSink:
    def __init__(
        self,
        url: str,
        home: Path,
        spool_dir: Path,
        *,
        flush_interval_s: float = 0.5,
        batch_rows: int = 5000,
        spool_quota_bytes: int = 512 * 10**6,
        retry_interval_s: float = 2.0,
        fence: Fence | None = None,
    ) -> None:
        self.flush_interval_s = flush_interval_s
        self.batch_rows = batch_rows
        self.retry_interval_s = retry_interval_s
        self._writer = BatchWriter(url, fence=fence)
        self._intended = DatabaseIdentity.of_url(url)
        self._spool_lock = SpoolLock(spool_dir)  # raises SpoolError if another worker owns it
        self._spool = Spool(spool_dir, spool_quota_bytes)
        self._deadletters = DeadLetters(deadletter_dir(home))
        self._quarantine = quarantine_dir(home)
        self._refused: set[Path] = set()  # segments meant for another database: kept, skipped
        self._replayed: int | None = None  # rows replayed so far in the current replay, if one runs
        self._spool_full = False
        self._pending: list[TableRow] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._next_retry = 0.0
        self.stats = SinkStats(spool_segments=len(self._spool))
        self._thread = threading.Thread(target=self._run, name="sink", daemon=True)

    def start(self) -> EventSink:
        self._thread.start()
        return self

    def put(self, rows: list[TableRow]) -> None:
        if not rows:
            return
        with self._lock:
            self._pending.extend(rows)
            if len(self._pending) >= self.batch_rows:
                self._wake.set()

    @property
    def failed(self) -> bool:
        return self.stats.failure is not None

    def backlog_rows(self) -> int:
        """Rows given to the sink that the database does not hold yet: waiting in memory plus
        spooled (stream_health.sink_backlog, the queue the alert rules watch)."""
        with self._lock:
            pending = len(self._pending)
        return pending + self._spool.rows_waiting()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, then write (or spool) everything still pending, and give up the spool."""
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        self._next_retry = 0.0  # a last attempt, whatever the retry timer says
        if not self.failed:
            try:
                for _ in range(3):  # a flush may record events (replay finished, reachable...): flush those too
                    self._flush()
                    if not self._pending or self._spool_full:
                        break
            except Exception as exc:
                self._fail(exc)
        if self.failed:  # keep what is pending on disk, without the database path that failed
            with self._lock:
                batch, self._pending = self._pending, []
            self._to_spool(batch)
        with self._lock:  # platform events held back by a full spool: lost now, and counted
            self.stats.dropped_rows += len(self._pending)
            self._pending = []
        self.stats.spool_segments = len(self._spool)
        self._writer.close()
        self._spool_lock.release()

    # -- the background thread ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            try:
                self._flush()
            except Exception as exc:  # supervised: whatever it is, the worker hears of it and stops
                self._fail(exc)
                return

    def _fail(self, exc: Exception) -> None:
        self.stats.failure = f"{type(exc).__name__}: {error_reason(exc)}"
        # Environment errors (disk, permissions, paths) are one line; anything else is a bug: traceback.
        log.error("ALARM: the sink stopped: %s; rows not written are kept in %s and the worker stops",
                  self.stats.failure, self._spool.directory, exc_info=not isinstance(exc, OSError))
        self._record("sink_failed", Severity.ERROR, f"the sink stopped: {self.stats.failure}")

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        try:
            if self._backlog() and time.monotonic() >= self._next_retry:
                self._replay_spool()
            if batch and not self._backlog():
                batch = self._write(batch)
            if batch:
                self._to_spool(batch)
        except BaseException:
            with self._lock:  # nothing taken is lost: close() spools it
                self._pending[:0] = batch
            raise
        self.stats.spool_segments = len(self._spool)

    def _backlog(self) -> bool:
        """Whether the spool holds segments to replay before any new batch may be written."""
        return any(path not in self._refused for path in self._spool.segments())

    def _write(self, rows: list[TableRow]) -> list[TableRow]:
        """Write rows, dead-lettering those the database rejects; returns the rows left unwritten
        because the database became unavailable."""
        outcome = write_isolating(self._writer, rows)
        self.stats.inserted.update(outcome.inserted)
        self.stats.written_rows += outcome.written
        if outcome.rejected:
            self._dead_letter(outcome.rejected)
        if outcome.fenced:
            self._fence_off(outcome.fenced)
        if outcome.unavailable is not None:
            self._database_down(outcome.unavailable)
        else:
            self._database_back()
        return outcome.unwritten

    def _replay_spool(self) -> None:
        try:
            database = self._writer.connect()
        except psycopg.Error as exc:
            self._database_down(error_reason(exc))
            return
        self._database_back()
        refused: Counter[DatabaseIdentity] = Counter()
        try:
            for path in self._spool.segments():
                if path in self._refused:
                    continue
                try:
                    segment = self._spool.read(path)
                except CorruptSegment as exc:
                    self._quarantine_segment(path, str(exc))
                    continue
                if not database.accepts(segment.database):
                    self._refused.add(path)
                    refused[segment.database] += 1
                    continue
                if self._replayed is None:
                    self._replay_started()
                left = self._write(segment.rows)
                self._replayed = (self._replayed or 0) + len(segment.rows) - len(left)
                if left:
                    self._spool.replace(segment, left)
                    return
                self._spool.remove(path)
        finally:
            for intended, segments in refused.items():
                self._refuse(intended, segments, database)
        if self._replayed is not None:
            log.warning("spool replayed: database caught up (%d rows)", self._replayed)
            self._record("spool_replay_finished", Severity.INFO, f"spool replayed: {self._replayed} rows",
                        rows=self._replayed)
            self._replayed = None

    def _to_spool(self, batch: list[TableRow]) -> None:
        try:
            self._spool.append(batch, self._writer.database or self._intended)
            self.stats.spooled_rows += len(batch)
            self._spool_full = False
        except SpoolFull as exc:
            # Platform events (the spool-full alarm among them) wait in memory for the database.
            events = [row for row in batch if row.table == "platform_events"]
            with self._lock:
                self._pending[:0] = events
            self.stats.dropped_rows += len(batch) - len(events)
            log.error("ALARM: %s; %d rows dropped so far. Free disk space, raise sink.spool_quota_mb, "
                      "or restore the database", exc, self.stats.dropped_rows)
            if not self._spool_full:
                self._spool_full = True
                self._record("spool_full", Severity.ERROR, f"{exc}: rows are dropped", spool=str(self._spool.directory))

    # -- alarms and platform events ------------------------------------------------------------

    def _record(self, kind: str, severity: Severity, message: str, **details: Any) -> None:
        """Record what happened to the sink in raw.platform_events, in order with the rows."""
        self.put([platform_event_row(PlatformEvent(kind, severity, message, details=details))])

    def _database_down(self, reason: str) -> None:
        if self.stats.database_up:
            log.error("database unavailable, spooling to %s: %s", self._spool.directory, reason)
            self._record("database_unreachable", Severity.WARNING, f"database unreachable, rows are spooled: {reason}")
        self.stats.database_up = False
        self._next_retry = time.monotonic() + self.retry_interval_s

    def _database_back(self) -> None:
        if not self.stats.database_up:
            log.warning("database reachable again")
            self._record("database_reachable", Severity.INFO, "database reachable again")
            self._spool_full = False  # the replay frees the spool: a new shortage is a new alarm
        self.stats.database_up = True

    def _replay_started(self) -> None:
        self._replayed = 0
        rows = self._spool.rows_waiting()
        log.warning("replaying the spool: %d rows in %d segments", rows, len(self._spool))
        self._record("spool_replay_started", Severity.INFO, f"replaying {rows} spooled rows", rows=rows)

    def _dead_letter(self, rejected: list[tuple[TableRow, str]]) -> None:
        database = self._writer.database or self._intended
        path = self._deadletters.add(rejected, database)
        self.stats.dead_lettered_rows += len(rejected)
        reason = rejected[0][1]
        log.error("ALARM: %d rows rejected by the database were dead-lettered to %s: %s; fix the cause, "
                  "then run `camcount worker deadletter replay`", len(rejected), path, reason)
        self._record("rows_dead_lettered", Severity.ERROR, f"{len(rejected)} rows rejected by the database: {reason}",
                    rows=len(rejected), file=str(path), tables=sorted({row.table for row, _ in rejected}))

    def _fence_off(self, rows: list[TableRow]) -> None:
        """Rows a zombie counted after its lease had expired (another worker owns that footage):
        kept as a spool segment under quarantine/, never written."""
        fenced = Spool(self._quarantine / f"fenced-{self._spool.directory.name}", quota_bytes=2**62)
        fenced.append(rows, self._writer.database or self._intended)
        self.stats.fenced_rows += len(rows)
        cameras = sorted({str(row.values[RAW_TABLES[row.table].columns.index("camera_id")]) for row in rows})
        log.error("ALARM: %d rows counted after their lease had expired (cameras %s) were quarantined in %s, "
                  "not written: another worker owns that footage", len(rows), ", ".join(cameras), fenced.directory)
        self._record("rows_fenced", Severity.ERROR, f"{len(rows)} rows counted after their lease expired were "
                     f"quarantined: {', '.join(cameras)}", rows=len(rows), cameras=cameras, spool=str(fenced.directory))

    def _quarantine_segment(self, path: Path, reason: str) -> None:
        self._quarantine.mkdir(parents=True, exist_ok=True)
        _, name = stamped_name(f"-{self._spool.directory.name}-{path.name}")  # never over an earlier one
        target = self._quarantine / name
        shutil.move(path, target)
        self.stats.quarantined_segments += 1
        log.error("ALARM: unreadable spool segment moved to %s (%s); the rest of the spool is replayed",
                  target, reason)
        self._record("spool_segment_quarantined", Severity.ERROR, f"unreadable spool segment quarantined: {reason}",
                    file=str(target))

    def _refuse(self, intended: DatabaseIdentity, segments: int, database: DatabaseIdentity) -> None:
        self.stats.refused_segments += segments
        log.error("ALARM: %d spool segments in %s are meant for %s, not %s: kept, not replayed; run this worker "
                  "against that database to replay them", segments, self._spool.directory, intended, database)
        self._record("spool_refused", Severity.ERROR,
                    f"{segments} spool segments meant for {intended} were kept, not replayed",
                    segments=segments, spool=str(self._spool.directory))

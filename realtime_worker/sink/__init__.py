"""The sink: batches rows to TimescaleDB every <= 1 s, and spools them when it is down.

Ordering rule: while the spool holds anything, new batches go to the spool too, so rows reach
the database in the order they were produced. A background thread flushes on time or size and
retries the spool; `close()` (on SIGTERM/SIGINT) makes a last attempt and spools the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

from realtime_worker.sink.db import BatchWriter
from realtime_worker.sink.rows import TableRow
from realtime_worker.sink.spool import Spool, SpoolFull

log = logging.getLogger(__name__)


class EventSink:
    def __init__(
        self,
        url: str,
        spool_dir: Path,
        *,
        flush_interval_s: float = 0.5,
        batch_rows: int = 5000,
        spool_quota_bytes: int = 512 * 10**6,
        retry_interval_s: float = 2.0,
    ) -> None:
        self.flush_interval_s = flush_interval_s
        self.batch_rows = batch_rows
        self.retry_interval_s = retry_interval_s
        self._writer = BatchWriter(url)
        self._spool = Spool(spool_dir, spool_quota_bytes)
        self._pending: list[TableRow] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._next_retry = 0.0
        self._db_up = True
        # Figures for health, metrics and the run summary.
        self.inserted: Counter[str] = Counter()
        self.spooled_rows = 0
        self.dropped_rows = 0  # rows lost because the spool was full: alarmed, never silent
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
    def spool_segments(self) -> int:
        return len(self._spool)

    @property
    def database_up(self) -> bool:
        return self._db_up

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, then write (or spool) everything still pending."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._flush()
        self._writer.close()

    def drain(self, timeout_s: float) -> bool:
        """Wait until nothing is pending or spooled (tests, demo); True if drained in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = not self._pending
            if idle and len(self._spool) == 0:
                return True
            self._wake.set()
            time.sleep(0.05)
        return False

    # -- the background thread ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if len(self._spool) and time.monotonic() >= self._next_retry:
            self._replay_spool()
        if not batch:
            return
        if len(self._spool) == 0 and self._try_write(batch):
            return
        self._to_spool(batch)

    def _replay_spool(self) -> None:
        while (oldest := self._spool.oldest()) is not None:
            segment, rows = oldest
            if not self._try_write(rows):
                return
            self._spool.remove(segment)
        log.warning("spool replayed: database caught up")

    def _try_write(self, batch: list[TableRow]) -> bool:
        try:
            inserted = self._writer.write(batch)
        except psycopg.Error as exc:
            if self._db_up:
                log.error("database unavailable, spooling to %s: %s", self._spool.directory,
                          str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            self._db_up = False
            self._next_retry = time.monotonic() + self.retry_interval_s
            return False
        if not self._db_up:
            log.warning("database reachable again")
        self._db_up = True
        self.inserted.update(inserted)
        return True

    def _to_spool(self, batch: list[TableRow]) -> None:
        try:
            self._spool.append(batch)
            self.spooled_rows += len(batch)
        except SpoolFull as exc:
            self.dropped_rows += len(batch)
            log.error("ALARM: %s; %d rows dropped so far. Free disk space, raise sink.spool_quota_mb, "
                      "or restore the database", exc, self.dropped_rows)

"""The crossings stream: new rows of raw.crossing_events in ingest order, for every client at once.

One loop follows the ingest barrier: it takes `raw.ingest_high_watermark()` (every lower
ingest_seq is committed or rolled back, so no row can appear below it later), then reads the
crossings up to it. A row whose transaction commits late is therefore read on a later poll,
never skipped. The loop keeps the latest crossings in memory; clients read from there, and a
client resuming from further back (`Last-Event-ID`) reads the gap from the database, up to
where the memory starts. Each client advances by ingest_seq, so it sees every crossing once.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from camcount.errors import DatabaseError
from camcount_api.reads import Crossing, Reads

log = logging.getLogger(__name__)
PAGE = 2000  # crossings per database read
KEEP = 10_000  # crossings kept in memory for clients to catch up from
IDLE_POLL_S = 5.0  # with no client the loop still follows the watermark, slowly
KEEPALIVE_S = 15.0  # an empty batch this often: the stream writes a comment, proxies keep it open


class CrossingFeed:
    def __init__(self, reads: Reads, poll_s: float, on_new: Callable[[], None]) -> None:
        self._reads = reads
        self._poll_s = poll_s
        self._on_new = on_new  # told when new crossings are committed (the counts cache drops its entry)
        self._rows: list[Crossing] = []
        self._seqs: list[int] = []
        self.floor = 0  # memory holds every crossing with floor < seq <= watermark
        self.watermark = 0
        self.polled_at: float | None = None  # loop time of the last successful poll
        self._begun = self._finished = 0  # polls started, and the latest that succeeded
        self._polled = asyncio.Condition()
        self._changed = asyncio.Event()
        self._clients = 0
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Poll until cancelled; a database outage is logged and retried, clients just wait."""
        while True:
            self._wake.clear()  # a wake from now on polls again right after this poll
            try:
                await self._poll()
            except DatabaseError:
                pass  # logged by the database layer; clients keep their place
            except Exception:
                log.exception("crossings stream: poll failed")
            delay = self._poll_s if self._clients else IDLE_POLL_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def batches(self, last: int | None) -> AsyncIterator[list[Crossing]]:
        """Crossings after ingest_seq `last` (none: from now on), in batches, forever; an empty
        batch every KEEPALIVE_S while nothing happens."""
        self._clients += 1
        try:
            if last is None:  # from now on: what committed before this request is history
                await self._poll_begun_after_now()
                last = self.watermark
            elif not self._finished:
                await self._poll_begun_after_now()
            while True:
                if last < self.floor:  # older than memory: read the gap from the database
                    upto = self.floor
                    rows = await self._reads.crossings(last, upto, PAGE)
                    last = rows[-1].seq if len(rows) == PAGE else upto
                else:
                    changed = self._changed
                    rows = self._rows[bisect.bisect_right(self._seqs, last):]
                    last = max(last, self.watermark)
                    if not rows:
                        try:
                            await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
                            continue
                        except TimeoutError:
                            pass
                yield rows
        finally:
            self._clients -= 1

    async def _poll_begun_after_now(self) -> None:
        target = self._begun + 1
        self._wake.set()  # an idle loop polls now, not in IDLE_POLL_S
        async with self._polled:
            await self._polled.wait_for(lambda: self._finished >= target)

    async def _poll(self) -> None:
        self._begun += 1
        number = self._begun
        watermark = await self._reads.high_watermark()
        if not self._finished:  # the first poll: the stream starts here
            self.floor = self.watermark = watermark
        new = False
        while self.watermark < watermark:
            rows = await self._reads.crossings(self.watermark, watermark, PAGE)
            self._append(rows)  # before the watermark moves: a client never passes rows not yet in memory
            self.watermark = rows[-1].seq if len(rows) == PAGE else watermark
            new = new or bool(rows)
        self.polled_at = asyncio.get_running_loop().time()
        async with self._polled:
            self._finished = number
            self._polled.notify_all()
        if new:
            self._on_new()
            self._changed.set()
            self._changed = asyncio.Event()

    def _append(self, rows: list[Crossing]) -> None:
        self._rows += rows
        self._seqs += [row.seq for row in rows]
        if len(self._rows) > 2 * KEEP:  # trim in bulk: amortised O(1) per row
            self.floor = self._seqs[-KEEP - 1]
            del self._rows[:-KEEP], self._seqs[:-KEEP]

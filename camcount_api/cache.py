"""The read cache: identical reads within a TTL come from memory, concurrent identical reads share
one query (single flight), so a hundred clients polling every second cost one query a second.

Once a value is older than its TTL, or `invalidate`d (the crossings stream saw new rows), the next
read starts one refresh and, meanwhile, every read gets the previous value at once: no request
waits for a query except the very first of a key, or one whose value is older than `MAX_STALE_S`
(the database has not answered for a while: better a 503 than old numbers). Every value says
how fresh it is (`as_of`, the counters' `includes_seq`), so a client that needs a given crossing
counted can tell, and ask again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

MAX_STALE_S = 10.0


@dataclass(frozen=True, slots=True)
class _Entry:
    loaded_at: float  # when its load started: the value is at least this fresh
    generation: int  # invalidations of its key when its load started
    value: Any


@dataclass(frozen=True, slots=True)
class _Flight:
    generation: int
    future: asyncio.Future[Any]


class QueryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._flights: dict[Hashable, _Flight] = {}
        self._generations: dict[Hashable, int] = {}
        self.hits = 0
        self.loads = 0

    async def get(self, key: Hashable, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> Any:
        now, generation = self._clock(), self._generations.get(key, 0)
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation and now - entry.loaded_at < ttl_s:
            self.hits += 1
            return entry.value
        flight = self._flights.get(key)
        if flight is None or flight.generation != generation:
            flight = self._flights[key] = _Flight(generation, asyncio.ensure_future(self._load(key, generation, load)))
            flight.future.add_done_callback(_retrieve_exception)  # a failed refresh nobody awaits
        if entry is not None and now - entry.loaded_at < MAX_STALE_S:
            self.hits += 1
            return entry.value  # the refresh runs on; the next read gets its result
        return await asyncio.shield(flight.future)  # a client that goes away does not cancel the others' load

    def invalidate(self, key: Hashable) -> None:
        """The data behind `key` changed: the next read refreshes it (loads already running are not enough)."""
        self._generations[key] = self._generations.get(key, 0) + 1

    async def _load(self, key: Hashable, generation: int, load: Callable[[], Awaitable[Any]]) -> Any:
        started = self._clock()
        self.loads += 1
        try:
            value = await load()
        finally:
            flight = self._flights.get(key)
            if flight is not None and flight.generation == generation:
                del self._flights[key]
        entry = self._entries.get(key)
        if entry is None or entry.loaded_at <= started:  # never replace a value a later load produced
            self._entries[key] = _Entry(started, generation, value)
        return value


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()

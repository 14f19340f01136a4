"""The read cache: identical reads within a TTL come from memory, concurrent identical reads share
one query (single flight), so a hundred clients polling every second cost one query a second.

`invalidate` drops a key when the data is known to have changed (the crossings stream saw new
rows), so a client that reacts to a streamed crossing reads counts that include it. A load that
started before an invalidation is neither joined nor stored afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Entry:
    loaded_at: float  # when its load started: the value is at least this fresh
    value: Any


class QueryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}
        self._generations: dict[Hashable, int] = {}
        self.hits = 0
        self.loads = 0

    async def get(self, key: Hashable, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> Any:
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry.loaded_at < ttl_s:
            self.hits += 1
            return entry.value
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.ensure_future(self._load(key, load))
            flight.add_done_callback(_retrieve_exception)  # a failed load nobody awaits any more
        else:
            self.hits += 1
        return await asyncio.shield(flight)  # a client that goes away does not cancel the others' load

    def invalidate(self, key: Hashable) -> None:
        self._generations[key] = self._generations.get(key, 0) + 1
        self._entries.pop(key, None)
        self._flights.pop(key, None)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        generation, started = self._generations.get(key, 0), self._clock()
        self.loads += 1
        try:
            value = await load()
        finally:
            if self._generations.get(key, 0) == generation:
                self._flights.pop(key, None)
        if self._generations.get(key, 0) == generation:
            self._entries[key] = _Entry(started, value)
        return value


def _retrieve_exception(flight: asyncio.Future[Any]) -> None:
    if not flight.cancelled():
        flight.exception()

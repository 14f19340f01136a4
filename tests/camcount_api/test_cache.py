"""The cache: many clients polling cost a handful of queries, concurrent identical requests share
one query, and a streamed crossing is already in the counts a client reads next."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from camcount_api.cache import QueryCache
from tests.camcount_api.conftest import Api, crossing, register, write_crossings
from tests.camcount_api.test_stream import read_events

CLIENTS = 100


def test_a_hundred_clients_polling_every_second_cost_a_few_queries(api: Api, database_url: str,
                                                                   camera_id: str) -> None:
    register(database_url, "api-cache", "Europe/Paris", [camera_id])
    api.get("/api/v1/counts")  # warm: the registry and the counters are cached

    def poll(client: int) -> list[int]:
        with httpx.Client(base_url=api.url, timeout=10) as http:
            statuses = []
            for _ in range(3):
                statuses.append(http.get("/api/v1/counts", params={"camera": camera_id}).status_code)
                time.sleep(1.0)
            return statuses

    before, started = api.queries, time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for result in pool.map(poll, range(CLIENTS)) for s in result]
    elapsed = time.monotonic() - started
    queries = api.queries - before
    assert statuses == [200] * (3 * CLIENTS)
    # One counters query per TTL (1 s), the registry every 5 s, the stream's idle polls: not 300.
    assert queries <= 2 * elapsed + 4, f"{queries} queries for {3 * CLIENTS} requests in {elapsed:.1f} s"


def test_concurrent_identical_requests_share_one_query(api: Api, database_url: str, camera_id: str) -> None:
    register(database_url, "api-cache", "UTC", [camera_id])
    api.get("/api/v1/sites")  # the registry is cached, so only the occupancy reads remain
    time.sleep(api.app.state.config.cache_ttl_s)  # nothing else cached is fresh

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
            responses = await asyncio.gather(*(http.get("/api/v1/occupancy") for _ in range(CLIENTS)))
        return [r.status_code for r in responses]

    before = api.queries
    assert asyncio.run(burst()) == [200] * CLIENTS
    assert api.queries - before <= 3  # occupancy now and peaks, maybe the stream's own poll


def test_counts_include_a_streamed_crossing_at_the_next_refresh(api: Api, database_url: str, camera_id: str) -> None:
    """The stream makes the cached counts stale before it delivers a crossing; the counts say up to
    which crossing they count (`includes_seq`), so a client asks again until they include it."""
    register(database_url, "api-cache", "UTC", [camera_id])
    api.app.state.reads.ttl_s = 3600.0  # an hour: only the stream's invalidation refreshes the counts
    params = {"camera": camera_id, "period": "day"}
    before = api.get("/api/v1/counts", params=params).json()
    with ThreadPoolExecutor(1) as pool:
        events = pool.submit(read_events, api, camera_id, 1)
        time.sleep(1.0)
        write_crossings(database_url, [crossing(camera_id, time.time())])
        [event] = events.result(20)
    answers = [api.get("/api/v1/counts", params=params).json()]
    while answers[-1]["includes_seq"] < event["seq"] and len(answers) < 20:
        time.sleep(0.05)
        answers.append(api.get("/api/v1/counts", params=params).json())
    assert len(answers) <= 3, "the first read after the event refreshes; the refresh takes one query"
    counted = {c["line_id"]: c["in"] for c in answers[-1]["counts"]}
    assert counted == {c["line_id"]: c["in"] + (c["line_id"] == "centre") for c in before["counts"]}


def test_single_flight_ttl_and_stale_while_refreshing_without_a_server() -> None:
    now = [0.0]
    cache = QueryCache(clock=lambda: now[0])
    loads = []

    async def load() -> int:  # returns which load it was
        loads.append(now[0])
        number = len(loads)
        await asyncio.sleep(0.05)
        return number

    async def scenario() -> list[int]:
        first = await asyncio.gather(*(cache.get("k", 1.0, load) for _ in range(50)))  # one load, shared
        now[0] = 0.5
        fresh = await cache.get("k", 1.0, load)  # within the TTL: from memory
        now[0] = 1.5
        stale = await asyncio.gather(*(cache.get("k", 1.0, load) for _ in range(50)))  # past it: one refresh,
        await asyncio.sleep(0.1)  # and meanwhile the previous value at once
        refreshed = await cache.get("k", 1.0, load)
        cache.invalidate("k")  # the data changed: a refresh even within the TTL
        invalidated = await cache.get("k", 1.0, load)
        await asyncio.sleep(0.1)
        after = await cache.get("k", 1.0, load)
        now[0] = 20.0  # too old to serve (the database has not answered for long): wait for the load
        waited = await cache.get("k", 1.0, load)
        return [*set(first), fresh, *set(stale), refreshed, invalidated, after, waited]

    assert asyncio.run(scenario()) == [1, 1, 1, 2, 2, 3, 4]
    assert len(loads) == 4

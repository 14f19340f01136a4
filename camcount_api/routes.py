"""The /api/v1 endpoints: each reads through the cache, selects, and answers a typed model."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from camcount_api import models, views
from camcount_api.auth import require_token
from camcount_api.config import ApiConfig
from camcount_api.feed import IDLE_POLL_S, KEEP, CrossingFeed
from camcount_api.reads import Crossing, Reads
from camcount_api.views import NotFound, Selection

PREFIX = "/api/v1"
STALE_STREAM_S = 3 * IDLE_POLL_S  # the stream has not read the database for this long: degraded
MAX_ID = 200  # characters; longer ids are refused before any lookup

router = APIRouter(prefix=PREFIX, dependencies=[Depends(require_token)])
public = APIRouter(prefix=PREFIX)

Id = Annotated[str | None, Query(max_length=MAX_ID)]
CameraId = Annotated[str, PathParam(max_length=MAX_ID)]
_ERRORS: dict[int | str, dict] = {status: {"model": models.Error} for status in (401, 404, 422, 503)}


def _reads(request: Request) -> Reads:
    return request.app.state.reads


def _config(request: Request) -> ApiConfig:
    return request.app.state.config


ReadsDep = Annotated[Reads, Depends(_reads)]
ConfigDep = Annotated[ApiConfig, Depends(_config)]


@router.get("/sites", responses=_ERRORS)
async def sites(reads: ReadsDep) -> list[models.Site]:
    """Sites with their timezone and cameras."""
    return views.sites(await reads.registry())


@router.get("/cameras", responses=_ERRORS)
async def cameras(reads: ReadsDep, config: ConfigDep, site: Id = None) -> list[models.Camera]:
    """Cameras with their lines, zones and live health (from the latest stream_health sample)."""
    return views.cameras(await reads.registry(), Selection(site=site), await reads.health(),
                         lambda camera_id: _snapshot_url(config, camera_id))


@router.get("/cameras/{camera_id}", responses=_ERRORS)
async def camera(camera_id: CameraId, reads: ReadsDep, config: ConfigDep) -> models.Camera:
    """One camera, with its live health."""
    [found] = views.cameras(await reads.registry(), Selection(camera=camera_id), await reads.health(),
                            lambda camera_id: _snapshot_url(config, camera_id))
    return found


@router.get("/cameras/{camera_id}/snapshot", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}, **_ERRORS})
async def snapshot(camera_id: CameraId, reads: ReadsDep, config: ConfigDep) -> FileResponse:
    """The latest annotated frame the worker wrote for this camera (404 until it writes one)."""
    Selection(camera=camera_id).cameras(await reads.registry())
    path = _snapshot_file(config, camera_id)
    if path is None:
        raise NotFound("no snapshot for this camera yet")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})


@router.get("/counts", response_model=models.Counts, responses=_ERRORS)
async def counts(request: Request, reads: ReadsDep, site: Id = None, camera: Id = None, line: Id = None,
                 period: models.Period | None = None, by: models.Grouping = "line") -> Response:
    """Exact crossings so far in the current local hour, day, week and month (rollup.counts_to_date),
    per line, or summed per camera or site (`by`)."""
    counters = await reads.counters(request.app.state.feed.watermark)
    registry = await reads.registry()
    key = (registry, site, camera, line, period, by)
    if key not in counters.rendered:  # once per counters read, however many clients ask
        answer = views.counts(registry, counters, Selection(site, camera, line), period, by)
        counters.rendered[key] = answer.model_dump_json(by_alias=True).encode()
    return Response(counters.rendered[key], media_type="application/json")


@router.get("/counts/hourly", responses=_ERRORS)
async def counts_hourly(reads: ReadsDep, site: Id = None, camera: Id = None,
                        hours: Annotated[int, Query(ge=1, le=48)] = 12) -> models.HourlyCounts:
    """Crossings per whole local hour over the last `hours` (each the hour counter as the hour ended)."""
    registry = await reads.registry()
    Selection(site, camera).cameras(registry)  # unknown ids: 404 before the query
    return views.hourly(registry, await reads.hourly(hours), Selection(site, camera), hours)


@router.get("/occupancy", responses=_ERRORS)
async def occupancy(reads: ReadsDep, site: Id = None, camera: Id = None, zone: Id = None) -> models.Occupancy:
    """People in each zone now (its latest second), and today's peak (since local midnight)."""
    registry = await reads.registry()
    selection = Selection(site=site, camera=camera, zone=zone)
    selection.cameras(registry)
    return views.occupancy(registry, selection, await reads.occupancy_now(), await reads.occupancy_peaks())


@router.get("/crossings/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "SSE: `id: <seq>`, `event: crossing`, `data: CrossingEvent` JSON"},
                       **_ERRORS})
async def crossings_stream(
    request: Request, reads: ReadsDep, site: Id = None, camera: Id = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=2**63 - 1)] = None,
) -> StreamingResponse:
    """New crossings in ingest order as Server-Sent Events. Reconnect with `Last-Event-ID` (the last
    `seq` received) to get exactly the crossings after it: none lost, none twice."""
    selection = Selection(site=site, camera=camera)
    selection.cameras(await reads.registry())
    return StreamingResponse(_events(request.app.state.feed, selection, last_event_id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@public.get("/healthz", responses={503: {"model": models.Healthz}})
async def healthz(request: Request) -> JSONResponse:
    """Liveness without a token: whether the crossings stream reads the database, and query totals."""
    feed: CrossingFeed = request.app.state.feed
    age = None if feed.polled_at is None else round(request.app.state.clock() - feed.polled_at, 1)
    ok = age is not None and age <= STALE_STREAM_S
    body = models.Healthz(status="ok" if ok else "degraded", stream_polled_s_ago=age,
                          database_queries=request.app.state.db.queries, cache_hits=request.app.state.cache.hits)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _events(feed: CrossingFeed, selection: Selection, last: int | None) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for batch in feed.batches(last):
        if not batch:
            yield ": keepalive\n\n"
            continue
        chunk = "".join(_event(c) for c in batch if selection.admits(c))
        if chunk:
            yield chunk


@functools.lru_cache(maxsize=KEEP)
def _event(crossing: Crossing) -> str:
    """One crossing as an SSE event, rendered once for all the clients that stream it."""
    return f"id: {crossing.seq}\nevent: crossing\ndata: {views.crossing_event(crossing).model_dump_json()}\n\n"


def _snapshot_file(config: ApiConfig, camera_id: str) -> Path | None:
    path = config.snapshots_dir / f"{camera_id}.jpg"
    return path if path.parent == config.snapshots_dir and path.is_file() else None


def _snapshot_url(config: ApiConfig, camera_id: str) -> str | None:
    return f"{PREFIX}/cameras/{quote(camera_id, safe='')}/snapshot" if _snapshot_file(config, camera_id) else None

"""The ASGI application: the /api/v1 routes, the live page at `/`, and OpenAPI docs at /docs,
all served from the package (the page's scripts are bundled at set-up: no CDN, works offline)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from camcount_api import errors, routes
from camcount_api.cache import QueryCache
from camcount_api.config import ApiConfig
from camcount_api.db import Database
from camcount_api.feed import CrossingFeed
from camcount_api.reads import COUNTS_KEY, Reads

STATIC = Path(__file__).parent / "static"
# The page loads only its own files; data comes from this origin (the stream and the API).
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; connect-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def create_app(config: ApiConfig) -> FastAPI:
    db = Database(config.database_url)
    cache = QueryCache()
    reads = Reads(db, cache, config.cache_ttl_s)
    # New crossings make the cached counts stale: the next read includes them.
    feed = CrossingFeed(reads, config.poll_s, on_new=lambda: cache.invalidate(COUNTS_KEY))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clock = asyncio.get_running_loop().time
        task = asyncio.create_task(feed.run(), name="crossings-feed")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await db.close()

    app = FastAPI(title="camcount", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Live people counts: exact to-date counters, occupancy, camera health and a stream "
                              "of crossings. Send `Authorization: Bearer <token>` when the server has a token.")
    app.state.config, app.state.db, app.state.cache, app.state.reads, app.state.feed = config, db, cache, reads, feed
    errors.install(app)
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET"],
                           allow_headers=["Authorization", "Last-Event-ID"])
    app.include_router(routes.router)
    app.include_router(routes.public)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY,
                                                           "X-Content-Type-Options": "nosniff"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="camcount API",
                                   swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    return app

"""Fixtures for the API tests: the real server (uvicorn on a free loopback port, in a thread)
logged in as camcount_api, sites and cameras registered the worker's way, and crossings written
through the worker's own sink."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI

from bench.harness.net import free_port
from bench.harness.worker_configs import LINES, ZONES
from camcount.db.roles import API_ROLE
from camcount_api.config import ApiConfig
from camcount_api.server import uvicorn_config
from realtime_worker.config import WorkerConfig
from realtime_worker.registry import register_cameras
from realtime_worker.sink.db import BatchWriter
from realtime_worker.sink.rows import crossing_row
from realtime_worker.types import CrossingEvent, Direction
from tests.security.conftest import enable_login


@dataclass(frozen=True)
class Api:
    url: str
    app: FastAPI
    token: str | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return httpx.get(self.url + path, headers=headers, timeout=10, **kwargs)

    @property
    def queries(self) -> int:
        """Statements the API has sent to the database so far."""
        return self.app.state.db.queries


@contextlib.contextmanager
def running_api(config: ApiConfig) -> Iterator[Api]:
    """`camcount serve`'s server, in a thread of this process, until the block ends."""
    server = uvicorn.Server(uvicorn_config(config))
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    try:
        yield Api(f"http://127.0.0.1:{config.port}", server.config.app, config.token)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="session")
def api_database_url(database_url: str) -> Iterator[str]:
    """The test database, logged in as camcount_api (its login enabled the product's way)."""
    with pytest.MonkeyPatch.context() as patch:
        yield enable_login(database_url, API_ROLE, patch)


@pytest.fixture
def api_config(api_database_url: str, tmp_path: Path) -> ApiConfig:
    return ApiConfig(database_url=api_database_url, port=free_port(), snapshots_dir=tmp_path / "snapshots")


@pytest.fixture
def api(api_config: ApiConfig) -> Iterator[Api]:
    with running_api(api_config) as running:
        yield running


def register(url: str, site_id: str, timezone: str, camera_ids: list[str], **camera: Any) -> None:
    """Sites and cameras in the registry, upserted as the worker does at start."""
    config = WorkerConfig.model_validate({
        "sites": [{"id": site_id, "name": f"Site {site_id}", "timezone": timezone}],
        "cameras": [{"id": c, "site": site_id, "source": "rtsp://127.0.0.1:9/x", "lines": LINES, "zones": ZONES,
                     **camera} for c in camera_ids],
    })
    with psycopg.connect(url) as conn:
        register_cameras(conn, config, config.cameras)


def crossing(camera_id: str, at: float, line_id: str = "centre", direction: Direction = Direction.IN,
             track_id: int | None = None) -> CrossingEvent:
    return CrossingEvent(camera_id, line_id, track_id if track_id is not None else uuid.uuid4().int % 10**9,
                         direction, "person", 0.9, at)


def write_crossings(url: str, events: list[CrossingEvent]) -> None:
    """Through the worker's sink, in one transaction (one batch)."""
    writer = BatchWriter(url)
    try:
        writer.write([crossing_row(event, "api-test") for event in events])
    finally:
        writer.close()

"""Run the API under uvicorn until SIGINT/SIGTERM, which end it cleanly (exit status 0)."""

from __future__ import annotations

import gc
import signal

import uvicorn

from camcount_api.app import create_app
from camcount_api.config import ApiConfig
from camcount_api.db import Database

GRACE_S = 2  # open streams never end by themselves: shutdown closes them after this
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def uvicorn_config(config: ApiConfig) -> uvicorn.Config:
    # No access log: a busy page polls several times a second, and URLs are the clients' business.
    return uvicorn.Config(create_app(config), host=config.host, port=config.port, access_log=False,
                          log_level="warning", timeout_graceful_shutdown=GRACE_S, server_header=False)


def serve(config: ApiConfig) -> None:
    """Fail with one line if the API's login does not work, then serve."""
    Database(config.database_url).check()
    server = uvicorn.Server(uvicorn_config(config))
    # What is loaded by now (the CLI brings Dagster, OpenCV, polars: ~130k objects) lives as long as
    # the process: out of the collector, whose full passes over it stall every request for 40+ ms.
    gc.freeze()
    # uvicorn handles the signals while it runs, then re-raises the one it got to the previous
    # handler: this one, so a stop is a clean exit rather than death by signal.
    previous = {sig: signal.signal(sig, lambda *_: setattr(server, "should_exit", True)) for sig in STOP_SIGNALS}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

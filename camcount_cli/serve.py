"""`camcount serve`: the live page, the read-only HTTP API and the crossings stream (camcount_api)."""

from __future__ import annotations

import os
import secrets

import click

from camcount.db import connect
from camcount.db.cluster import embedded_cluster_in_use
from camcount.db.roles import API_PASSWORD_ENV, API_ROLE, ensure_login
from camcount_api.config import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV, config_from_env
from camcount_api.server import serve as run_server


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help=f"Address to listen on; anything but loopback requires {TOKEN_ENV}.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Let pages from this origin call the API (repeatable; default none, or CAMCOUNT_API_CORS_ORIGINS).")
def serve(host: str, port: int, cors_origins: tuple[str, ...]) -> None:
    """Serve the live page (/), the API (/api/v1, OpenAPI docs at /docs) and the crossings stream,
    reading the database as the least-privilege role camcount_api."""
    embedded = embedded_cluster_in_use()
    if embedded:  # a private trust-auth cluster: any password works once the role may log in
        os.environ.setdefault(API_PASSWORD_ENV, secrets.token_urlsafe(24))
    config = config_from_env(host, port, cors_origins)  # a refused bind fails here, before any login
    if embedded:
        with connect(autocommit=True) as conn:
            ensure_login(conn, API_ROLE, API_PASSWORD_ENV)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"camcount live page and API: http://{shown}:{port}  (docs: /docs; Ctrl-C to stop)", err=True)
    run_server(config)

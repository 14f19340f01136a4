"""How the API runs: address, token, CORS and its database login, from options and the environment.

A bind beyond loopback serves counts of people to the network, so it requires a bearer token;
the check lives here, once, and refuses to build a config without one.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from camcount.db.dsn import database_url, role_url
from camcount.db.roles import API_PASSWORD_ENV, API_ROLE
from camcount.errors import ConfigError
from camcount.settings import camcount_home

TOKEN_ENV = "CAMCOUNT_API_TOKEN"
DATABASE_URL_ENV = "CAMCOUNT_API_DATABASE_URL"
CORS_ENV = "CAMCOUNT_API_CORS_ORIGINS"
MIN_TOKEN_CHARS = 16
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ApiConfig:
    database_url: str  # a login as camcount_api
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None  # required beyond loopback; enforced whenever set
    cors_origins: tuple[str, ...] = ()  # none: no CORS headers at all
    snapshots_dir: Path = field(default_factory=lambda: camcount_home() / "snapshots")
    cache_ttl_s: float = 1.0  # counts, occupancy and health are at most this old
    poll_s: float = 0.5  # how often the crossings stream follows the ingest watermark

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} random characters "
                              "(e.g. `openssl rand -base64 24`)")
        if self.token is None and not is_loopback(self.host):
            raise ConfigError(f"refusing to listen on {self.host} without a token: set {TOKEN_ENV} (clients send "
                              f"it as `Authorization: Bearer ...`), or listen on {DEFAULT_HOST}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def api_database_url() -> str:
    """`CAMCOUNT_API_DATABASE_URL`, else camcount's database logged in as camcount_api with the
    password from `CAMCOUNT_API_PASSWORD` (the variable `camcount db migrate` enables it with)."""
    return os.environ.get(DATABASE_URL_ENV) or role_url(database_url(), API_ROLE, os.environ.get(API_PASSWORD_ENV))


def config_from_env(host: str, port: int, cors_origins: tuple[str, ...] = ()) -> ApiConfig:
    """The config `camcount serve` runs with: secrets and CORS origins from the environment."""
    origins = cors_origins or tuple(o.strip() for o in os.environ.get(CORS_ENV, "").split(",") if o.strip())
    return ApiConfig(database_url=api_database_url(), host=host, port=port,
                     token=os.environ.get(TOKEN_ENV) or None, cors_origins=origins)

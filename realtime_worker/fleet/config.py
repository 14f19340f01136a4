"""The fleet config in the database: `camcount cameras apply FILE` writes it, fleet workers read it.

The file has the worker config's schema and passes the same validation (`config.validate_document`),
with each `${VAR}` standing in for itself: the database keeps the references, never their values,
and each worker resolves them from its own environment when it reads the config. Where things go:
sites in ops.sites; each camera's source (as written) and settings in ops.cameras, its lines and
zones in ops.cameras.geometry (the registry's own column); the worker-wide sections in ops.fleet,
whose version moves at every apply so that running workers reload.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from camcount.errors import ConfigError
from realtime_worker.config import CameraConfig, WorkerConfig, read_document, substitute_env, validate_document
from realtime_worker.registry import camera_geometry
from realtime_worker.sources import SourceKind

SECTIONS = ("detector", "tracker", "sink", "health", "sources")  # worker-wide: ops.fleet.settings
_IN_GEOMETRY = ("lines", "zones")
_OWN_COLUMNS = ("id", "site", "name", "source")
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/@]*)@")
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
WHERE = "the fleet config (ops.cameras, ops.fleet)"


class _References(dict):
    """An environment in which every variable is set to its own name: validates a file whose
    secrets belong to the workers' environment, not to the one applying it."""

    def __contains__(self, name: object) -> bool:
        return True

    def __getitem__(self, name: str) -> str:
        return name


@dataclass(frozen=True)
class Applied:
    version: int
    cameras: list[str]
    removed: list[str]


@dataclass(frozen=True)
class FleetConfig:
    """The fleet config as one worker sees it: None until a file was applied; cameras whose
    `${VAR}`s this worker's environment lacks are left out, with the reason."""

    version: int
    config: WorkerConfig | None
    skipped: dict[str, str] = field(default_factory=dict)


def check_no_password(source: str, key: str) -> None:
    """A password in a camera URL must be a `${VAR}` reference: the database never stores credentials."""
    match = _USERINFO.match(source)
    if match and ":" in match.group(1) and not _REFERENCE.fullmatch(match.group(1).split(":", 1)[1]):
        raise ConfigError(f"{key}: the URL holds a password; write it as a ${{VAR}} reference resolved from "
                          "each worker's environment: the fleet's database never stores credentials")


def stored_source(raw: str, camera: CameraConfig) -> str:
    """The source as the database keeps it: as written, except a file path made absolute."""
    return camera.source.url if camera.source.kind is SourceKind.FILE and not _REFERENCE.search(raw) else raw


def check_file(path: Path) -> tuple[dict[str, Any], WorkerConfig]:
    """`path` as written, and validated as a worker config with its `${VAR}`s standing for
    themselves; refuses a password that is not a reference. Raises ConfigError."""
    document = read_document(path)
    config = validate_document(substitute_env(document, path, _References()), path, path.resolve().parent)
    for i, raw in enumerate(document["cameras"]):
        check_no_password(str(raw["source"]), f"{path}: cameras[{i}].source")
    return document, config


def apply_file(conn: psycopg.Connection, path: Path) -> Applied:
    """Validate `path` as a worker config and make it the fleet's config, in one transaction."""
    document, config = check_file(path)
    raw_cameras: list[dict[str, Any]] = document["cameras"]
    settings = {name: document[name] for name in SECTIONS if name in document}
    ids = [camera.id for camera in config.cameras]
    with conn.transaction():
        (version,) = conn.execute(
            """INSERT INTO ops.fleet (settings, version) VALUES (%s, 1)
               ON CONFLICT (singleton) DO UPDATE SET settings = EXCLUDED.settings, version = ops.fleet.version + 1,
               applied_at = now() RETURNING version""", (Jsonb(settings),)).fetchone()
        for site in config.sites:
            conn.execute(
                """INSERT INTO ops.sites (site_id, name, timezone) VALUES (%s, %s, %s)
                   ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
                   updated_at = now()""", (site.id, site.name or site.id, site.timezone))
        for raw, camera in zip(raw_cameras, config.cameras, strict=True):
            own = {key: value for key, value in raw.items() if key not in (*_OWN_COLUMNS, *_IN_GEOMETRY)}
            conn.execute(
                """INSERT INTO ops.cameras (camera_id, site_id, name, source_kind, geometry, health_interval_s,
                                            source, settings)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (camera_id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
                   source_kind = EXCLUDED.source_kind, geometry = EXCLUDED.geometry,
                   health_interval_s = EXCLUDED.health_interval_s, source = EXCLUDED.source,
                   settings = EXCLUDED.settings, updated_at = now()""",
                (camera.id, camera.site, camera.name or camera.id, str(camera.source.kind),
                 Jsonb(camera_geometry(camera)), config.health.interval_s, stored_source(str(raw["source"]), camera),
                 Jsonb(own)))
            conn.execute("INSERT INTO ops.camera_leases (camera_id) VALUES (%s) ON CONFLICT DO NOTHING", (camera.id,))
        removed = [camera for (camera,) in conn.execute(
            """UPDATE ops.cameras SET source = NULL, settings = NULL, updated_at = now()
               WHERE source IS NOT NULL AND NOT (camera_id = ANY(%s)) RETURNING camera_id""", (ids,)).fetchall()]
    return Applied(version, ids, sorted(removed))


def fleet_version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT version FROM ops.fleet").fetchone()
    return row[0] if row else 0


def load_fleet(conn: psycopg.Connection, env: Mapping[str, str] = os.environ) -> FleetConfig:
    """The fleet config from the database, `${VAR}`s resolved from `env`, validated as a file is."""
    row = conn.execute("SELECT version, settings FROM ops.fleet").fetchone()
    if row is None:
        return FleetConfig(0, None)
    version, settings = row
    cameras, skipped = [], {}
    for camera_id, site, name, source, own, geometry in conn.execute(
            """SELECT camera_id, site_id, name, source, settings, geometry FROM ops.cameras
               WHERE source IS NOT NULL ORDER BY camera_id""").fetchall():
        document = {"id": camera_id, "site": site, "name": name, "source": source, **(own or {}),
                    **{key: geometry.get(key, []) for key in _IN_GEOMETRY}}
        try:
            cameras.append(substitute_env(document, f"{WHERE}: camera {camera_id}", env))
        except ConfigError as exc:
            skipped[camera_id] = str(exc)
    if not cameras:
        return FleetConfig(version, None, skipped)
    site_ids = sorted({camera["site"] for camera in cameras})
    sites = [{"id": site_id, "name": name, "timezone": timezone} for site_id, name, timezone in conn.execute(
        "SELECT site_id, name, timezone FROM ops.sites WHERE site_id = ANY(%s) ORDER BY site_id", (site_ids,))]
    document = {"sites": sites, "cameras": cameras, **substitute_env(settings, WHERE, env)}
    return FleetConfig(version, validate_document(document, WHERE, None), skipped)

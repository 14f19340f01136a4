"""Upsert the configured sites and cameras into `ops.sites` / `ops.cameras`.

The registry is what marts join against (site timezone, line side names, zone polygons). It
stores the source kind only, never the URL, so credentials never reach the database. The
geometry is complete (every line and zone setting): fleet workers build their counters from it
(`realtime_worker/fleet/config.py`).
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from realtime_worker.config import CameraConfig, WorkerConfig


def camera_geometry(camera: CameraConfig) -> dict:
    return {
        "lines": [
            {"id": line.id, "points": [list(p) for p in line.points], "sides": dict(line.sides),
             "in_side": line.in_side, "anchor": str(line.anchor), "hysteresis_px": line.hysteresis_px}
            for line in camera.lines
        ],
        "zones": [{"id": zone.id, "polygon": [list(p) for p in zone.polygon], "anchor": str(zone.anchor)}
                  for zone in camera.zones],
    }


def register_cameras(conn: psycopg.Connection, config: WorkerConfig, cameras: list[CameraConfig]) -> None:
    with conn.transaction():
        for site in config.sites:
            conn.execute(
                """INSERT INTO ops.sites (site_id, name, timezone) VALUES (%s, %s, %s)
                   ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
                   updated_at = now()""",
                (site.id, site.name or site.id, site.timezone),
            )
        for camera in cameras:
            conn.execute(
                """INSERT INTO ops.cameras (camera_id, site_id, name, source_kind, geometry, health_interval_s)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (camera_id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
                   source_kind = EXCLUDED.source_kind, geometry = EXCLUDED.geometry,
                   health_interval_s = EXCLUDED.health_interval_s, updated_at = now()""",
                (camera.id, camera.site, camera.name or camera.id,
                 str(camera.source.kind), Jsonb(camera_geometry(camera)), config.health.interval_s),
            )

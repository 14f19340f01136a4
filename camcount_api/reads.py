"""Every query the API runs, each read whole and cached: requests filter the cached result.

One query per kind of data (not per camera or per filter) keeps the number of distinct cache
keys tiny, so the cache absorbs any number of clients. Counts come only from
`rollup.counts_to_date()`, the exact counters the marts agree with: nothing here counts rows.
All SQL is constant text with parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from camcount_api.cache import QueryCache
from camcount_api.db import Database

PERIODS = ("hour", "day", "week", "month")
REGISTRY_TTL_S = 5.0
PEAKS_TTL_S = 5.0  # today's peak scans the day's samples: the latest second is added on top (views)
HOURLY_TTL_S = 30.0  # past hours change only with late data
RECENT_OCCUPANCY = "2 minutes"  # no sample this recent: the zone's occupancy is unknown
COUNTS_KEY = ("counts",)

_SITES = "SELECT site_id, name, timezone FROM ops.sites ORDER BY site_id"
_CAMERAS = """
    SELECT camera_id, site_id, name, source_kind, geometry, health_interval_s
    FROM ops.cameras ORDER BY site_id, camera_id"""
# The counters at one instant, with each site's period starts at that instant (for periods
# without any crossing yet): the same local truncation the counters function applies.
_COUNTS = """
    WITH t AS (SELECT now() AS at),
    c AS MATERIALIZED (SELECT f.* FROM t, rollup.counts_to_date(t.at) AS f)
    SELECT t.at, s.site_id, p.period,
           date_trunc(p.period, t.at AT TIME ZONE s.timezone) AT TIME ZONE s.timezone AS period_start,
           NULL::text AS camera_id, NULL::text AS line_id, NULL::text AS direction, NULL::bigint AS crossings
    FROM t, ops.sites s, (VALUES ('hour'), ('day'), ('week'), ('month')) AS p (period)
    UNION ALL
    SELECT t.at, c.site_id, c.period, c.period_start, c.camera_id, c.line_id, c.direction, c.crossings
    FROM t, c"""
# Each site's last `hours` whole local hours, each the `hour` counter at the instant it ended.
_HOURLY = """
    SELECT c.site_id, c.camera_id, c.line_id, c.direction, c.period_start AS hour_start, c.crossings
    FROM ops.sites s
    CROSS JOIN generate_series(1, %(hours)s) AS k (n)
    CROSS JOIN LATERAL rollup.counts_to_date(
        date_trunc('hour', now() AT TIME ZONE s.timezone) AT TIME ZONE s.timezone
        - (k.n - 1) * interval '1 hour' - interval '1 microsecond') AS c
    WHERE c.site_id = s.site_id AND c.period = 'hour'"""
# The latest health sample of each camera, and the latest that processed frames (within a day).
_HEALTH = """
    SELECT c.camera_id, now() AS as_of, h.time, h.input_fps, h.processed_fps, h.quality, h.dropped_frames,
           f.time AS last_frame_at
    FROM ops.cameras c
    LEFT JOIN LATERAL (
        SELECT time, input_fps, processed_fps, quality, dropped_frames FROM raw.stream_health s
        WHERE s.camera_id = c.camera_id ORDER BY time DESC LIMIT 1) h ON true
    LEFT JOIN LATERAL (
        SELECT time FROM raw.stream_health s
        WHERE s.camera_id = c.camera_id AND s.processed_fps > 0 AND s.time > now() - interval '1 day'
        ORDER BY time DESC LIMIT 1) f ON true"""
_LOCAL_DAYS = """
    WITH days AS (
        SELECT c.camera_id, date_trunc('day', now() AT TIME ZONE s.timezone) AT TIME ZONE s.timezone AS day_start
        FROM ops.cameras c JOIN ops.sites s USING (site_id))"""
# People in each zone at its latest second (all classes), if that second is recent.
_OCCUPANCY_NOW = _LOCAL_DAYS + """
    SELECT DISTINCT ON (o.camera_id, o.zone_id) o.camera_id, o.zone_id, o.time, sum(o.occupancy)::int AS people,
           d.day_start
    FROM raw.zone_occupancy o JOIN days d USING (camera_id)
    WHERE o.time > now() - %(recent)s::interval
    GROUP BY o.camera_id, o.zone_id, o.time, d.day_start
    ORDER BY o.camera_id, o.zone_id, o.time DESC"""
# Each zone's busiest second of the local day so far (the first, if tied).
_OCCUPANCY_PEAKS = _LOCAL_DAYS + """,
    per_second AS (
        SELECT o.camera_id, o.zone_id, o.time, sum(o.occupancy)::int AS people
        FROM days d JOIN raw.zone_occupancy o ON o.camera_id = d.camera_id AND o.time >= d.day_start
        GROUP BY 1, 2, 3)
    SELECT DISTINCT ON (camera_id, zone_id) camera_id, zone_id, people, time
    FROM per_second ORDER BY camera_id, zone_id, people DESC, time"""
_HIGH_WATERMARK = "SELECT raw.ingest_high_watermark() AS seq"
_CROSSINGS = """
    SELECT e.ingest_seq AS seq, e.event_id, e.time, c.site_id, e.camera_id, e.line_id, e.direction, e.class_name
    FROM raw.crossing_events e LEFT JOIN ops.cameras c USING (camera_id)
    WHERE e.ingest_seq > %(after)s AND e.ingest_seq <= %(upto)s
    ORDER BY e.ingest_seq LIMIT %(limit)s"""


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    in_side: str | None
    out_side: str | None


@dataclass(frozen=True, slots=True)
class Camera:
    camera_id: str
    site_id: str
    name: str
    source_kind: str
    lines: tuple[Line, ...]
    zones: tuple[str, ...]
    health_interval_s: float


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    timezone: str


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a key of the counters' rendered answers
class Registry:
    sites: dict[str, Site]
    cameras: dict[str, Camera]


@dataclass(frozen=True, slots=True)
class Counters:
    as_of: datetime
    includes_seq: int  # every crossing with an ingest_seq up to this was committed before the read
    period_starts: dict[tuple[str, str], datetime]  # (site, period) -> start
    crossings: dict[tuple[str, str, str, str], int]  # (camera, line, period, direction) -> count
    lines: dict[str, list[str]]  # camera -> lines with crossings this month (a line since removed, too)
    # Answers rendered from these counters, by registry and request: polling clients repeat requests.
    rendered: dict[tuple, bytes] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class HourCount:
    site_id: str
    camera_id: str
    line_id: str
    direction: str
    hour_start: datetime
    crossings: int


@dataclass(frozen=True, slots=True)
class Health:
    as_of: datetime
    time: datetime | None
    input_fps: float | None
    processed_fps: float | None
    quality: float | None
    dropped_frames: int | None
    last_frame_at: datetime | None


@dataclass(frozen=True, slots=True)
class ZoneNow:
    time: datetime
    people: int
    day_start: datetime


@dataclass(frozen=True, slots=True)
class ZonePeak:
    people: int
    time: datetime


@dataclass(frozen=True, slots=True)
class Crossing:
    seq: int
    event_id: str
    time: datetime
    site_id: str | None
    camera_id: str
    line_id: str
    direction: str
    class_name: str


class Reads:
    def __init__(self, db: Database, cache: QueryCache, ttl_s: float) -> None:
        self.db = db
        self.cache = cache
        self.ttl_s = ttl_s

    async def registry(self) -> Registry:
        return await self.cache.get(("registry",), REGISTRY_TTL_S, self._registry)

    async def counters(self, committed_seq: int) -> Counters:
        """The counters, read after every crossing up to `committed_seq` had committed (the
        stream's watermark), so they count those; a refresh started later counts more."""
        return await self.cache.get(COUNTS_KEY, self.ttl_s, lambda: self._counters(committed_seq))

    async def hourly(self, hours: int) -> list[HourCount]:
        async def load() -> list[HourCount]:
            return [HourCount(**row) for row in await self.db.fetch(_HOURLY, {"hours": hours})]
        return await self.cache.get(("hourly", hours), HOURLY_TTL_S, load)

    async def health(self) -> dict[str, Health]:
        async def load() -> dict[str, Health]:
            return {row.pop("camera_id"): Health(**row) for row in await self.db.fetch(_HEALTH)}
        return await self.cache.get(("health",), self.ttl_s, load)

    async def occupancy_now(self) -> dict[tuple[str, str], ZoneNow]:
        async def load() -> dict[tuple[str, str], ZoneNow]:
            rows = await self.db.fetch(_OCCUPANCY_NOW, {"recent": RECENT_OCCUPANCY})
            return {(r["camera_id"], r["zone_id"]): ZoneNow(r["time"], r["people"], r["day_start"]) for r in rows}
        return await self.cache.get(("occupancy_now",), self.ttl_s, load)

    async def occupancy_peaks(self) -> dict[tuple[str, str], ZonePeak]:
        async def load() -> dict[tuple[str, str], ZonePeak]:
            rows = await self.db.fetch(_OCCUPANCY_PEAKS)
            return {(r["camera_id"], r["zone_id"]): ZonePeak(r["people"], r["time"]) for r in rows}
        return await self.cache.get(("occupancy_peaks",), PEAKS_TTL_S, load)

    async def high_watermark(self) -> int:
        """Every crossing with an ingest_seq at or below this is committed: none can appear later."""
        return (await self.db.fetch(_HIGH_WATERMARK))[0]["seq"]

    async def crossings(self, after: int, upto: int, limit: int) -> list[Crossing]:
        """Crossings with after < ingest_seq <= upto, in ingest order (at most `limit`)."""
        rows = await self.db.fetch(_CROSSINGS, {"after": after, "upto": upto, "limit": limit})
        return [Crossing(**{**row, "event_id": str(row["event_id"])}) for row in rows]

    async def _registry(self) -> Registry:
        sites = {row["site_id"]: Site(**row) for row in await self.db.fetch(_SITES)}
        cameras = {row["camera_id"]: _camera(row) for row in await self.db.fetch(_CAMERAS)}
        return Registry(sites, cameras)

    async def _counters(self, committed_seq: int) -> Counters:
        rows = await self.db.fetch(_COUNTS)
        starts = {(r["site_id"], r["period"]): r["period_start"] for r in rows if r["camera_id"] is None}
        crossings = {(r["camera_id"], r["line_id"], r["period"], r["direction"]): r["crossings"]
                     for r in rows if r["camera_id"] is not None}
        lines: dict[str, list[str]] = {}
        for camera_id, line_id, _, _ in sorted(crossings):
            if line_id not in lines.setdefault(camera_id, []):
                lines[camera_id].append(line_id)
        return Counters(rows[0]["at"] if rows else await self._now(), committed_seq, starts, crossings, lines)

    async def _now(self) -> datetime:
        return (await self.db.fetch("SELECT now() AS at"))[0]["at"]


def _camera(row: dict[str, Any]) -> Camera:
    """A registry row; its geometry is the worker's config as stored (realtime_worker.registry)."""
    geometry = row["geometry"] or {}
    lines = tuple(_line(line) for line in geometry.get("lines", []))
    zones = tuple(zone["id"] for zone in geometry.get("zones", []))
    return Camera(row["camera_id"], row["site_id"], row["name"], row["source_kind"], lines, zones,
                  row["health_interval_s"])


def _line(line: dict[str, Any]) -> Line:
    sides = list((line.get("sides") or {}).values())
    in_side = line.get("in_side")
    out_side = next((side for side in sides if side != in_side), None)
    return Line(line["id"], in_side, out_side)

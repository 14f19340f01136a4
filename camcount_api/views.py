"""From cached reads to response models: the selection a request asks for (site, camera, line,
zone), with zeros for lines and periods that have no crossing yet.

An id that is not in the registry is a 404 here, before anything reaches SQL: hostile strings
end as "no such camera", never as a query. Sums over lines (grouping by camera or site) are
sums of exact counters, so they are exact too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from camcount_api import models
from camcount_api.reads import (
    PERIODS,
    Camera,
    Counters,
    Crossing,
    Health,
    HourCount,
    Registry,
    ZoneNow,
    ZonePeak,
)

ONLINE_INTERVALS = 2.5  # a camera is online while its latest health sample is younger than this many intervals


class NotFound(Exception):
    """An id the registry does not know: a 404 whose message names the parameter, not its value."""


@dataclass(frozen=True)
class Selection:
    site: str | None = None
    camera: str | None = None
    line: str | None = None
    zone: str | None = None

    def cameras(self, registry: Registry) -> list[Camera]:
        if self.site is not None and self.site not in registry.sites:
            raise NotFound("no such site")
        if self.camera is None:
            return [c for c in registry.cameras.values() if self.site in (None, c.site_id)]
        camera = registry.cameras.get(self.camera)
        if camera is None or self.site not in (None, camera.site_id):
            raise NotFound("no such camera" if self.site is None else "no such camera at this site")
        return [camera]

    def lines(self, camera: Camera, counters: Counters) -> list[str]:
        """The camera's configured lines, then any other line it counted this month."""
        known = [line.line_id for line in camera.lines]
        known += [line for line in counters.lines.get(camera.camera_id, []) if line not in known]
        return [line for line in known if self.line in (None, line)]

    def zones(self, camera: Camera) -> list[str]:
        return [zone for zone in camera.zones if self.zone in (None, zone)]

    def admits(self, crossing: Crossing) -> bool:
        return self.site in (None, crossing.site_id) and self.camera in (None, crossing.camera_id)


def sites(registry: Registry) -> list[models.Site]:
    cameras: dict[str, list[str]] = defaultdict(list)
    for camera in registry.cameras.values():
        cameras[camera.site_id].append(camera.camera_id)
    return [models.Site(site_id=s.site_id, name=s.name, timezone=s.timezone, camera_ids=cameras[s.site_id])
            for s in registry.sites.values()]


def cameras(registry: Registry, selection: Selection, health: dict[str, Health],
            snapshot_url: Callable[[str], str | None]) -> list[models.Camera]:
    return [
        models.Camera(
            camera_id=c.camera_id, site_id=c.site_id, name=c.name, source_kind=c.source_kind,
            lines=[models.Line(line_id=line.line_id, in_side=line.in_side, out_side=line.out_side) for line in c.lines],
            zones=list(c.zones), health=camera_health(health.get(c.camera_id), c.health_interval_s),
            snapshot_url=snapshot_url(c.camera_id),
        )
        for c in selection.cameras(registry)
    ]


def camera_health(health: Health | None, interval_s: float) -> models.CameraHealth:
    if health is None or health.time is None:
        return models.CameraHealth(status="offline", sampled_at=None, last_frame_age_s=None, input_fps=None,
                                   processed_fps=None, quality=None, dropped_frames=None)
    age_s = (health.as_of - health.time).total_seconds()
    online = age_s <= ONLINE_INTERVALS * interval_s and (health.processed_fps or 0) > 0
    last_frame_age_s = (health.as_of - health.last_frame_at).total_seconds() if health.last_frame_at else None
    return models.CameraHealth(
        status="online" if online else "offline", sampled_at=health.time,
        last_frame_age_s=None if last_frame_age_s is None else round(max(last_frame_age_s, 0.0), 1),
        input_fps=health.input_fps, processed_fps=health.processed_fps, quality=health.quality,
        dropped_frames=health.dropped_frames,
    )


def counts(registry: Registry, counters: Counters, selection: Selection, period: models.Period | None,
           by: models.Grouping) -> models.Counts:
    chosen = selection.cameras(registry)
    lines = {camera.camera_id: selection.lines(camera, counters) for camera in chosen}
    if selection.line is not None and not any(lines.values()):
        raise NotFound("no such line")
    totals: dict[tuple[str, str | None, str | None, str, datetime], list[int]] = {}
    for camera in chosen:
        for line_id in lines[camera.camera_id]:
            for p in [period] if period else PERIODS:
                start = counters.period_starts.get((camera.site_id, p))
                if start is None:  # a site newer than the counters read: it has no crossings yet
                    continue
                key = (camera.site_id, camera.camera_id if by != "site" else None, line_id if by == "line" else None,
                       p, start)
                total = totals.setdefault(key, [0, 0])
                total[0] += counters.crossings.get((camera.camera_id, line_id, p, "in"), 0)
                total[1] += counters.crossings.get((camera.camera_id, line_id, p, "out"), 0)
    return models.Counts(as_of=counters.as_of, includes_seq=counters.includes_seq, counts=[
        models.Count(site_id=site, camera_id=camera, line_id=line, period=p, period_start=start,
                     crossings_in=n_in, crossings_out=n_out)
        for (site, camera, line, p, start), (n_in, n_out) in totals.items()
    ])


def hourly(registry: Registry, rows: list[HourCount], selection: Selection, hours: int) -> models.HourlyCounts:
    chosen = {camera.camera_id for camera in selection.cameras(registry)}
    totals: dict[tuple[str, str, str, datetime], list[int]] = {}
    for row in rows:
        if row.camera_id in chosen:
            total = totals.setdefault((row.site_id, row.camera_id, row.line_id, row.hour_start), [0, 0])
            total[row.direction == "out"] += row.crossings
    return models.HourlyCounts(hours=hours, counts=[
        models.HourCount(site_id=site, camera_id=camera, line_id=line, hour_start=hour,
                         crossings_in=n_in, crossings_out=n_out)
        for (site, camera, line, hour), (n_in, n_out) in sorted(totals.items())
    ])


def occupancy(registry: Registry, selection: Selection, now: dict[tuple[str, str], ZoneNow],
              peaks: dict[tuple[str, str], ZonePeak]) -> models.Occupancy:
    chosen = selection.cameras(registry)
    zones = {camera.camera_id: selection.zones(camera) for camera in chosen}
    if selection.zone is not None and not any(zones.values()):
        raise NotFound("no such zone")
    result = []
    for camera in chosen:
        for zone_id in zones[camera.camera_id]:
            latest, peak = now.get((camera.camera_id, zone_id)), peaks.get((camera.camera_id, zone_id))
            # The peak is read less often than the latest second: a busier latest second is the peak.
            candidates = [(peak.people, peak.time)] if peak else []
            if latest is not None and latest.time >= latest.day_start:
                candidates.append((latest.people, latest.time))
            best = max(candidates, key=lambda c: (c[0], -c[1].timestamp()), default=None)
            result.append(models.ZoneOccupancy(
                site_id=camera.site_id, camera_id=camera.camera_id, zone_id=zone_id,
                now=latest.people if latest else None, now_at=latest.time if latest else None,
                peak_today=best[0] if best else None, peak_at=best[1] if best else None,
            ))
    return models.Occupancy(zones=result)


def crossing_event(crossing: Crossing) -> models.CrossingEvent:
    return models.CrossingEvent(seq=crossing.seq, event_id=crossing.event_id, time=crossing.time,
                                site_id=crossing.site_id, camera_id=crossing.camera_id, line_id=crossing.line_id,
                                direction=crossing.direction, class_name=crossing.class_name)  # type: ignore[arg-type]

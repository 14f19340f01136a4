"""What the API answers, as typed models: the OpenAPI schema at /docs is generated from these.

Times are UTC instants (ISO 8601); `in` and `out` are relative to each line's declared in side,
as in every table, mart and report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Period = Literal["hour", "day", "week", "month"]
Grouping = Literal["line", "camera", "site"]


class InOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    crossings_in: int = Field(alias="in", description="crossings towards the line's in side")
    crossings_out: int = Field(alias="out", description="crossings towards its other side")


class Site(BaseModel):
    site_id: str
    name: str
    timezone: str = Field(description="IANA timezone: local hours, days, weeks and months follow it")
    camera_ids: list[str]


class Line(BaseModel):
    line_id: str
    in_side: str | None = Field(description="the side name crossings towards which count as `in`")
    out_side: str | None


class CameraHealth(BaseModel):
    status: Literal["online", "offline"] = Field(
        description="online: the latest health sample is recent (within 2.5 health intervals) and processed frames")
    sampled_at: datetime | None = Field(description="time of the latest stream_health sample")
    last_frame_age_s: float | None = Field(
        description="seconds since the latest sample that processed frames (within one health interval of the "
                    "last frame); none in the past day: null")
    input_fps: float | None
    processed_fps: float | None
    quality: float | None = Field(description="0-1 quality score of the latest sample (realtime_worker.health)")
    dropped_frames: int | None


class Camera(BaseModel):
    camera_id: str
    site_id: str
    name: str
    source_kind: str
    lines: list[Line]
    zones: list[str]
    health: CameraHealth
    snapshot_url: str | None = Field(description="the latest annotated frame, when the worker writes snapshots")


class Count(InOut):
    site_id: str
    camera_id: str | None = Field(description="null when grouped by site")
    line_id: str | None = Field(description="null when grouped by camera or site")
    period: Period
    period_start: datetime = Field(description="start of the current local period, as a UTC instant")


class Counts(BaseModel):
    as_of: datetime = Field(description="the instant the counters were read at (about the cache TTL ago, at most)")
    includes_seq: int = Field(description="every crossing up to this ingest sequence (the stream's `seq`) is "
                                          "counted: after a streamed crossing, ask again until this reaches it")
    counts: list[Count]


class HourCount(InOut):
    site_id: str
    camera_id: str
    line_id: str
    hour_start: datetime


class HourlyCounts(BaseModel):
    hours: int
    counts: list[HourCount] = Field(description="whole local hours with crossings, before the current one")


class ZoneOccupancy(BaseModel):
    site_id: str
    camera_id: str
    zone_id: str
    now: int | None = Field(description="people in the zone at its latest second; null without a recent sample")
    now_at: datetime | None
    peak_today: int | None = Field(description="the most people in one second since local midnight")
    peak_at: datetime | None


class Occupancy(BaseModel):
    zones: list[ZoneOccupancy]


class CrossingEvent(BaseModel):
    """One SSE `crossing` event's data; the event id is `seq`."""

    seq: int = Field(description="ingest sequence: resume after it with Last-Event-ID")
    event_id: str
    time: datetime
    site_id: str | None
    camera_id: str
    line_id: str
    direction: Literal["in", "out"]
    class_name: str


class Healthz(BaseModel):
    status: Literal["ok", "degraded"]
    stream_polled_s_ago: float | None = Field(description="since the crossings stream last read the database")
    database_queries: int = Field(description="queries sent since start (the cache's effect: compare with requests)")
    cache_hits: int


class Error(BaseModel):
    status: int
    error: str

"""The worker's one config file: YAML -> typed, validated models.

Every error names the file, the key path and the reason (`cameras[1].lines[0].points: ...`).
Credentials never live in the file: `${VAR}` in any string is replaced from the environment,
and a missing variable is an error that names both the key and the variable. Relative paths
(`source`, `sink.spool_dir`) are relative to the config file's own directory, so a config means
the same from any working directory.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from camcount.errors import ConfigError
from camcount.settings import partitions_start
from realtime_worker.count import require_unique_ids
from realtime_worker.count.geometry import polygon_self_intersects
from realtime_worker.count.lines import DEFAULT_IN_SIDE, DEFAULT_SIDES, validate_line
from realtime_worker.detect import detector_scale
from realtime_worker.detect.tiling import check_tiles, validate_region, validate_tiles
from realtime_worker.sources import Source, parse_source
from realtime_worker.types import Anchor

Point = tuple[float, float]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Model):
    id: str = Field(min_length=1)
    name: str | None = None
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. Europe/London)") from None
        return value


class LineConfig(_Model):
    """A counting line: a segment or polyline whose two sides have names."""

    id: str = Field(min_length=1)
    points: list[Point]
    sides: dict[Literal["left", "right"], str] = dict(DEFAULT_SIDES)
    in_side: str = Field(DEFAULT_IN_SIDE, alias="in")
    anchor: Anchor = Anchor.BOTTOM_CENTER
    hysteresis_px: float = Field(6.0, ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _valid_line(self) -> LineConfig:
        validate_line(self.points, self.sides, self.in_side)  # the counter's own rule
        return self


class ZoneConfig(_Model):
    id: str = Field(min_length=1)
    polygon: list[Point] = Field(min_length=3)
    anchor: Anchor = Anchor.BOTTOM_CENTER

    @model_validator(mode="after")
    def _simple_polygon(self) -> ZoneConfig:
        if polygon_self_intersects(self.polygon):
            raise ValueError("zone polygon intersects itself; list its corners in order around the edge")
        return self


def _config_dir(info: ValidationInfo) -> Path | None:
    """The directory of the file being validated: relative paths in it are relative to it."""
    return (info.context or {}).get("config_dir")


def _parse_source(value: object, info: ValidationInfo) -> Source:
    if isinstance(value, Source):
        return value
    if not isinstance(value, str | int) or not str(value).strip():
        raise ValueError("give a file path, rtsp://, http(s):// MJPEG URL, or webcam:N")
    try:
        return parse_source(value, info.data.get("rtsp_transport"), relative_to=_config_dir(info))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


# A camera URL in YAML, a typed `Source` in the model, the URL again when dumped.
SourceField = Annotated[Source, PlainValidator(_parse_source), PlainSerializer(lambda source: source.url)]


class CameraConfig(_Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    site: str
    name: str | None = None
    # rtsp_transport comes before source: the source is parsed with it, once, into a typed `Source`.
    rtsp_transport: Literal["tcp", "udp"] | None = None  # RTSP only; default tcp
    source: SourceField = Field(description="file path, rtsp://, http(s):// MJPEG, or webcam:N")
    playback: Literal["fast", "native"] = "fast"
    loop: bool = False  # files: start again at the end (a looping "live" camera, stamped by the capture clock)
    # Files played once: capture time of frame 0. Default: the file's modification time (so a re-run
    # yields the same event ids and inserts nothing twice). Checked against the partitions either way.
    start_at: datetime | None = Field(None, validate_default=True)
    lines: list[LineConfig] = []
    zones: list[ZoneConfig] = []
    # Where the detector looks: auto (the lines and zones, plus a person's height around them, when
    # the whole frame would shrink people below what the detector finds), off (the whole frame),
    # [x0, y0, x1, y1], or a polygon [[x, y], ...] outside which no box is kept.
    # It must lie inside the frame (checked at the first frame). See realtime_worker/detect/tiling.py.
    region: Literal["auto", "off"] | tuple[float, float, float, float] | list[Point] = "auto"
    # A person's box height (px) near the lines: sizes the region's margin and the tiles. Default: frame height / 8.
    person_height_px: float | None = Field(None, gt=0)

    @field_validator("region")
    @classmethod
    def _region_not_empty(cls, value: str | tuple[float, ...] | list[Point]) -> str | tuple[float, ...] | list[Point]:
        validate_region(value)
        return value

    @field_validator("start_at")
    @classmethod
    def _start_within_partitions(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """Rows stamped before the partitions' start, or in the future, never reach a rollup."""
        source = info.data.get("source")
        if source is None:  # the source itself is invalid, and reported
            return value
        if source.live or info.data.get("loop"):
            if value is not None:
                raise ValueError("applies to files played once; live and looping sources are stamped "
                                 "by the capture clock: remove start_at")
            return value
        given = value or _modified_at(source)
        if given is None:  # a missing file: opening it reports that
            return value
        stamp = given.isoformat(sep=" ", timespec="seconds")
        subject = stamp if value else f"not set, so frame 0 is stamped with the file's modification time {stamp}, which"
        start = partitions_start()
        if given.timestamp() < start.timestamp():
            raise ValueError(f"{subject} is before the partitions' start {start:%Y-%m-%d} (CAMCOUNT_PARTITIONS_START), "
                             "so its rows would never reach a rollup; set start_at to when the footage was recorded")
        if given.timestamp() > time.time():
            raise ValueError(f"{subject} is in the future; set start_at to when the footage was recorded")
        return value

    @property
    def capture_clock(self) -> bool:
        """Stamped by the capture clock as frames arrive: live sources and looping files."""
        return self.source.live or self.loop

    def frame0_at(self) -> datetime | None:
        """A file played once: when its frame 0 was captured (None: the file is missing)."""
        return self.start_at or _modified_at(self.source)

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraConfig:
        require_unique_ids("line", [line.id for line in self.lines])
        require_unique_ids("zone", [zone.id for zone in self.zones])
        return self


class DetectorConfig(_Model):
    # nanodet: the bundled default (docs/benchmarks.md: it finds more people than ssdlite at the same
    # CPU cost, and keeps finding them at 50 px where ssdlite's recall collapses).
    backend: Literal["ssdlite", "ultralytics", "motion", "nanodet"] = "nanodet"
    weights: str | None = None  # ultralytics: .pt/.onnx/.engine (default yolo11n.pt)
    device: str = "auto"
    classes: list[str] = ["person"]
    class_aliases: dict[str, str] = {}  # model class name -> stored class name
    confidence: float = Field(0.4, gt=0, lt=1)
    imgsz: int = Field(640, ge=32)
    max_batch: int = Field(16, ge=1)  # images (tiles) per detector call
    # Each camera's region cut into overlapping tiles, all cameras' tiles batched: auto (as many as
    # bring a person up to the size the detector finds, at most 2), off, or RxC (rows x columns).
    tiles: str = "auto"

    @field_validator("tiles")
    @classmethod
    def _tiles(cls, value: str) -> str:
        validate_tiles(value)
        return value


class TrackerConfig(_Model):
    high_threshold: float = 0.5
    low_threshold: float = 0.1
    new_track_threshold: float = 0.6
    match_iou: float = 0.2
    # How long a lost track waits to be found again, in seconds so it means the same at any frame rate.
    lost_track_buffer_s: float = Field(0.5, gt=0)


class SinkConfig(_Model):
    # 0.5 s: capture -> committed row p99 0.71 s with 9 live cameras, against 1.08 s at 1 s (bench.latency).
    flush_interval_s: float = Field(0.5, gt=0, le=1.0)
    batch_rows: int = Field(5000, ge=1)
    spool_dir: Path | None = None  # default $CAMCOUNT_HOME/spool
    spool_quota_mb: float = Field(512, gt=0)
    retry_interval_s: float = Field(2.0, gt=0)

    @field_validator("spool_dir")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = _config_dir(info)
        return base / value if value is not None and base is not None else value


class HealthConfig(_Model):
    interval_s: float = Field(10.0, gt=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(9464, ge=0, le=65535)  # None: no /metrics endpoint
    # Write $CAMCOUNT_HOME/snapshots/<camera>.jpg (lines, zones, boxes drawn) this often; None: never.
    snapshot_interval_s: float | None = Field(None, gt=0)


class MqttConfig(_Model):
    """Optional MQTT publishing (realtime_worker/mqtt.py); the database stays the record."""

    host: str = Field(min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = Field("camcount", min_length=1, pattern=r"^[^+#]+$")
    client_id: str | None = None  # also names the availability topic; default: host name + cameras
    username: str | None = None
    password: str | None = None  # only as ${ENV_VAR}: checked before substitution
    qos: Literal[0, 1, 2] = 1
    keepalive_s: int = Field(30, ge=5)
    reconnect_max_s: float = Field(30.0, ge=1)
    connect_timeout_s: float = Field(2.0, ge=0)  # at start only: how long to wait for the first connection


class SourceRetryConfig(_Model):
    stall_timeout_s: float = Field(5.0, gt=0)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    max_outage_s: float | None = Field(None, gt=0)  # None: retry forever (live cameras)
    buffer_frames: int = Field(8, ge=1)


class WorkerConfig(_Model):
    sites: list[SiteConfig] = Field(min_length=1)
    cameras: list[CameraConfig] = Field(min_length=1)
    detector: DetectorConfig = DetectorConfig()
    tracker: TrackerConfig = TrackerConfig()
    sink: SinkConfig = SinkConfig()
    health: HealthConfig = HealthConfig()
    sources: SourceRetryConfig = SourceRetryConfig()
    mqtt: MqttConfig | None = None  # None: no MQTT

    @field_validator("detector")
    @classmethod
    def _tiles_fit_the_detector(cls, detector: DetectorConfig, info: ValidationInfo) -> DetectorConfig:
        """Explicit tiles must suit the backend and each explicit region (the rest is checked at the first frame)."""
        scale = detector_scale(detector.backend, detector.imgsz)
        for camera in info.data.get("cameras") or []:
            check_tiles(detector.tiles, camera.region, camera.person_height_px, scale, f"camera {camera.id!r}")
        return detector

    @model_validator(mode="after")
    def _references(self) -> WorkerConfig:
        site_ids = {site.id for site in self.sites}
        camera_ids = [camera.id for camera in self.cameras]
        if len(camera_ids) != len(set(camera_ids)):
            raise ValueError(f"duplicate camera id in {camera_ids}")
        for camera in self.cameras:
            if camera.site not in site_ids:
                raise ValueError(f"camera {camera.id!r} names unknown site {camera.site!r} (sites: {sorted(site_ids)})")
        return self

    def camera(self, camera_id: str) -> CameraConfig:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise ConfigError(f"unknown camera id {camera_id!r}; the config has {[c.id for c in self.cameras]}")


def load_config(path: Path | str) -> WorkerConfig:
    """Read, substitute `${ENV}` and validate; every problem becomes a `ConfigError`."""
    path = Path(path)
    document = read_document(path)
    return validate_document(substitute_env(document, path), path, path.resolve().parent)


def read_document(path: Path) -> dict[str, Any]:
    """The config file's YAML mapping, `${VAR}` references as written."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with `sites` and `cameras` at the top level")
    return document


def substitute_env(document: dict[str, Any], where: Path | str, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """`document` with every `${VAR}` replaced from `env`; a missing variable is a ConfigError."""
    mqtt = document.get("mqtt")
    password = mqtt.get("password") if isinstance(mqtt, dict) else None
    if password is not None and not (isinstance(password, str) and _ENV_REF.fullmatch(password)):
        raise ConfigError(f"{where}: mqtt.password: give it as ${{VAR}} from the environment, never in the file")
    return _substitute_env(document, Path(where), (), env)


def validate_document(document: dict[str, Any], where: Path | str, config_dir: Path | None) -> WorkerConfig:
    """The one validation of a worker config, from a file or from the fleet's tables; errors name `where`."""
    try:
        return WorkerConfig.model_validate(document, context={"config_dir": config_dir})
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_problems(exc)}") from None


def file_camera(camera: CameraConfig, video: Path) -> CameraConfig:
    """`camera`'s geometry over `video` played once, fast (`worker process`), checked like a camera
    of the config file (its start time against the partitions)."""
    document = {**camera.model_dump(by_alias=True), "source": str(video.resolve()), "rtsp_transport": None,
                "playback": "fast", "loop": False}
    try:
        return CameraConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{video} as camera {camera.id}: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{_key_path(error['loc']) or '(top level)'}: {_reason(error)}" for error in exc.errors())


def _modified_at(source: Source) -> datetime | None:
    path = str(source.target)
    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC) if os.path.isfile(path) else None


def _substitute_env(node: Any, path: Path, key_path: tuple[str | int, ...], env: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _substitute_env(value, path, (*key_path, key), env) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute_env(value, path, (*key_path, i), env) for i, value in enumerate(node)]
    if isinstance(node, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"{path}: {_key_path(key_path)}: environment variable {name} is not set")
            return env[name]

        value = _ENV_REF.sub(replace, node)
        if "\x00" in value:  # PostgreSQL text and jsonb refuse NUL: every write of it would fail
            raise ConfigError(f"{path}: {_key_path(key_path)}: contains a NUL character (\\x00)")
        return value
    return node


def _key_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _reason(error: dict[str, Any]) -> str:
    message = error["msg"]
    return message.removeprefix("Value error, ")

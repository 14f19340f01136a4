"""The data that flows between the worker's stages.

sources -> `Frame` -> detect -> `Detections` -> track -> `Detections` (with `tracker_id`)
-> count -> `CrossingEvent` / `ZoneEvent` / `OccupancySample` -> sink.
Beside the flow: `HealthSample` (health -> sink) and `PlatformEvent` (sources, worker -> sink).

Like `supervision.Detections`, one array-of-boxes type is shared by detector, tracker and
counter, so each stage is a pure function of the previous stage's output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded image and where and when it was captured."""

    camera_id: str
    index: int  # 0-based position in the stream since the source was opened
    captured_at: float  # POSIX seconds, UTC: wall clock for live sources, start + position for files
    image: np.ndarray  # HxWx3 uint8, BGR (OpenCV order)
    received_at: float | None = None  # POSIX seconds when decoded; end-to-end latency starts here
    decode_ms: float | None = None  # time spent reading and decoding this frame


class Anchor(StrEnum):
    """Which point of a box stands for the object when it is counted."""

    BOTTOM_CENTER = "bottom_center"
    CENTER = "center"
    TOP_CENTER = "top_center"


@dataclass(slots=True)
class Detections:
    """N boxes in pixel xyxy, with scores, classes and (after tracking) track ids."""

    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int32
    tracker_id: np.ndarray | None = None  # (N,) int64, set by the tracker
    class_names: dict[int, str] = field(default_factory=lambda: {0: "person"})

    @classmethod
    def empty(cls, class_names: dict[int, str] | None = None) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int32),
            class_names=class_names or {0: "person"},
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        """Select a subset (boolean mask or index array), keeping every column aligned."""
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
            class_names=self.class_names,
        )

    def anchors(self, anchor: Anchor = Anchor.BOTTOM_CENTER) -> np.ndarray:
        """(N, 2) points that represent each box for counting."""
        x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        if anchor is Anchor.BOTTOM_CENTER:
            y = self.xyxy[:, 3]
        elif anchor is Anchor.TOP_CENTER:
            y = self.xyxy[:, 1]
        else:
            y = (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2
        return np.stack([x, y], axis=1)

    def class_name(self, i: int) -> str:
        return self.class_names.get(int(self.class_id[i]), str(int(self.class_id[i])))


class Direction(StrEnum):
    """Relative to the line's declared `in` side: `in` means moving into that side."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class CrossingEvent:
    camera_id: str
    line_id: str
    track_id: int
    direction: Direction
    class_name: str
    confidence: float
    at: float  # POSIX seconds of the frame that completed the crossing


class ZoneTransition(StrEnum):
    ENTER = "enter"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    camera_id: str
    zone_id: str
    track_id: int
    transition: ZoneTransition
    class_name: str
    at: float
    dwell_s: float | None = None  # set on EXIT: time spent inside


@dataclass(frozen=True, slots=True)
class OccupancySample:
    """How many tracks of one class were inside a zone during one whole second."""

    camera_id: str
    zone_id: str
    class_name: str
    second: int  # POSIX second (floor of the frame timestamps it summarises)
    occupancy: int  # max tracks inside during that second


@dataclass(frozen=True, slots=True)
class HealthSample:
    """One camera's stream health over one sampling window (see `health` for the quality score)."""

    camera_id: str
    at: float
    input_fps: float
    processed_fps: float
    dropped_frames: int
    decode_ms_p50: float | None
    decode_ms_p95: float | None
    inference_ms_p50: float | None
    inference_ms_p95: float | None
    e2e_ms_p50: float | None
    e2e_ms_p95: float | None
    bitrate_kbps: float | None
    jitter_ms: float | None
    reconnects: int
    queue_depth: int  # frames waiting in the capture buffer (at most buffer_frames)
    quality: float
    sink_backlog: int | None = None  # the worker's rows not yet in the database: in memory plus spooled


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """Something that happened to the platform rather than in the scene: a camera down, a corrupt
    frame, the worker's own life. Its producer decides the severity; the sink only stores it."""

    kind: str
    severity: Severity
    message: str
    camera_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

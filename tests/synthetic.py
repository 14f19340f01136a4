"""Synthetic fixed-camera scenes with exact ground truth, for end-to-end counting tests.

A scene is a static floor texture on which person-like figures (rounded body + head, each one
solid colour) walk piecewise-linear paths. `render_scene` writes it as an MJPG .avi (640x480,
10 fps) with per-frame sensor noise, so the detector sees a real compressed video.

Each preset returns its `Scene`, the counting geometry (shared by all presets, so `full_scene`
can chain them) and the true counts. The truth follows the counters' semantics
(`realtime_worker.count.lines` / `.zones`) from the figures' true anchor positions at each
frame, but with independent geometry: OpenCV's `pointPolygonTest` for sides and zones, and
brute-force nearest points on a densely sampled line, never `realtime_worker.count`.

Presets are unambiguous at frame resolution: no frame puts a figure's anchor within
`MARGIN_PX` of a decision boundary (zone edge, edge of a line's hysteresis band, the
perpendicular through a line's end), so a pixel or two of detection error cannot change the
truth. The truth computation enforces it (`AmbiguousScene` names the figure and frame).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

FPS = 10.0
WIDTH, HEIGHT = 640, 480
START_AT = 1_750_000_000.25  # POSIX time of frame 0 (June 2025, within the partitions); off the whole second
HYSTERESIS_PX = 6.0  # the LineCounter default the truth is computed for
MARGIN_PX = 2.0

Point = tuple[float, float]
BGR = tuple[int, int, int]


@dataclass(frozen=True)
class Figure:
    """A person walking through `path`: (frame, anchor x, anchor y) waypoints, frames increasing.

    The anchor is the bottom-centre of the figure (its feet); it is interpolated linearly
    between waypoints and the figure exists from the first waypoint's frame to the last's.
    """

    color: BGR
    path: tuple[tuple[int, float, float], ...]
    size: tuple[int, int] = (30, 80)  # width, height in px; smaller reads as farther away

    def anchor(self, frame: int) -> Point | None:
        frames = [p[0] for p in self.path]
        if not frames[0] <= frame <= frames[-1]:
            return None
        return (
            float(np.interp(frame, frames, [p[1] for p in self.path])),
            float(np.interp(frame, frames, [p[2] for p in self.path])),
        )

    def shifted(self, frames: int) -> Figure:
        return Figure(self.color, tuple((f + frames, x, y) for f, x, y in self.path), self.size)


@dataclass(frozen=True)
class Scene:
    figures: tuple[Figure, ...]
    n_frames: int
    seed: int = 0

    @staticmethod
    def time(frame: int) -> float:
        """Capture time of a frame; the test feeds the counters exactly these values."""
        return START_AT + frame / FPS


@dataclass(frozen=True)
class GroundTruth:
    """What `render_scene` drew: per frame, the box of every figure on screen."""

    times: tuple[float, ...]
    boxes: tuple[dict[int, tuple[int, int, int, int]], ...]  # figure index -> xyxy (may leave the image)


@dataclass(frozen=True)
class LineSpec:
    line_id: str
    points: tuple[Point, ...]
    sides: dict[str, str]
    in_side: str


@dataclass(frozen=True)
class ZoneSpec:
    zone_id: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True)
class LineTruth:
    ins: int
    outs: int


@dataclass(frozen=True)
class ZoneTruth:
    enters: int
    exits: int
    dwell_s: tuple[float, ...]  # sorted
    occupancy: tuple[tuple[int, int], ...]  # (POSIX second, max figures inside) for every second


@dataclass(frozen=True)
class Preset:
    """A scene, the geometry it is designed for, and (computed on first use) the true counts."""

    scene: Scene
    lines: tuple[LineSpec, ...]
    zones: tuple[ZoneSpec, ...]

    @cached_property
    def line_truth(self) -> dict[str, LineTruth]:
        return {line.line_id: line_truth(self.scene, line) for line in self.lines}

    @cached_property
    def zone_truth(self) -> dict[str, ZoneTruth]:
        return {zone.zone_id: zone_truth(self.scene, zone) for zone in self.zones}


# The geometry every preset is designed around (and checked against).
DOOR = LineSpec("door", ((160, 240), (480, 240)), {"left": "north", "right": "south"}, "north")
AISLE = LineSpec("aisle", ((325, 265), (325, 353)), {"left": "east", "right": "west"}, "east")
QUEUE = ZoneSpec("queue", ((10, 370), (170, 360), (190, 430), (120, 470), (20, 460)))
LINES = (DOOR, AISLE)
ZONES = (QUEUE,)

RED, BLUE, GREEN = (30, 30, 220), (220, 60, 20), (40, 190, 30)
YELLOW, MAGENTA, CYAN, ORANGE = (20, 220, 240), (200, 30, 200), (220, 210, 20), (10, 120, 250)


# --- rendering -------------------------------------------------------------------------------


def render_scene(path: Path, scene: Scene) -> GroundTruth:
    """Write `scene` to `path` (.avi, MJPG) and return the boxes drawn on each frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write MJPG to {path}")
    rng = np.random.default_rng(scene.seed)
    floor = _floor(rng)
    boxes = []
    try:
        for frame in range(scene.n_frames):
            image = floor.copy()
            on_screen = {}
            # Painter's order: a figure lower in the image is nearer and hides the ones behind.
            placed = [(i, f, f.anchor(frame)) for i, f in enumerate(scene.figures)]
            for i, figure, anchor in sorted((p for p in placed if p[2]), key=lambda p: p[2][1]):
                on_screen[i] = _draw_figure(image, figure, anchor)
            noise = rng.integers(-3, 4, image.shape, dtype=np.int16)  # sensor noise
            writer.write(np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8))
            boxes.append(on_screen)
    finally:
        writer.release()
    return GroundTruth(times=tuple(scene.time(f) for f in range(scene.n_frames)), boxes=tuple(boxes))


def _floor(rng: np.random.Generator) -> np.ndarray:
    """Beige tiles with grout, lit brighter towards the camera, with fine grain: a floor."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    shade = 95 + 45 * yy / HEIGHT + 6 * (((xx // 80) + (yy // 60)) % 2)
    shade -= 22 * ((xx % 80 < 2) | (yy % 60 < 2))  # grout lines
    shade += cv2.GaussianBlur(rng.normal(0, 5, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 1.2)
    tint = np.array([0.82, 0.95, 1.08], np.float32)  # BGR: warm
    return np.clip(shade[..., None] * tint, 0, 255).astype(np.uint8)


def _draw_figure(image: np.ndarray, figure: Figure, anchor: Point) -> tuple[int, int, int, int]:
    """Head circle over a rounded body; returns the pixel-edge xyxy box it fills."""
    w, h = figure.size
    x0, y1 = round(anchor[0] - w / 2), round(anchor[1])  # y1: first row below the feet
    x1, y0 = x0 + w, y1 - h
    radius, corner = w // 2 - 3, 6
    body_top = y0 + 2 * radius - 2  # the head overlaps the body by a 2 px neck
    color = tuple(int(c) for c in figure.color)
    cv2.rectangle(image, (x0 + corner, body_top), (x1 - 1 - corner, y1 - 1), color, -1)
    cv2.rectangle(image, (x0, body_top + corner), (x1 - 1, y1 - 1 - corner), color, -1)
    for cx in (x0 + corner, x1 - 1 - corner):
        for cy in (body_top + corner, y1 - 1 - corner):
            cv2.circle(image, (cx, cy), corner, color, -1)
    cv2.circle(image, ((x0 + x1 - 1) // 2, y0 + radius), radius, color, -1)
    return x0, y0, x1, y1


# --- ground truth ----------------------------------------------------------------------------


class AmbiguousScene(ValueError):
    """A preset puts a figure too close to a decision boundary for its truth to be exact."""


def line_truth(scene: Scene, line: LineSpec, hysteresis_px: float = HYSTERESIS_PX) -> LineTruth:
    """Crossings of `line` by the figures, from their anchors at every frame they exist."""
    pts = np.asarray(line.points, np.float64)
    first, last = _unit(pts[1] - pts[0]), _unit(pts[-1] - pts[-2])
    # Everything on the viewer's left of the walked line, closed far away on that side. The
    # screen-left normal of a direction (dx, dy) is (dy, -dx): up for a rightward line.
    far = 4 * (WIDTH + HEIGHT)
    far_left = [end + far * np.array([d[1], -d[0]]) for end, d in ((pts[-1], last), (pts[0], first))]
    left_region = np.vstack([pts, *far_left]).astype(np.float32)
    dense = np.vstack(
        [np.linspace(a, b, math.ceil(np.hypot(*(b - a)) / 0.05) + 1)[:-1] for a, b in pairwise(pts)] + [pts[-1:]]
    )
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(dense, axis=0).T))])
    in_label = "left" if line.sides["left"] == line.in_side else "right"

    counts = Counter[str]()
    problems = []
    for index, figure in enumerate(scene.figures):
        side = None
        for frame in range(scene.n_frames):
            anchor = figure.anchor(frame)
            if anchor is None:
                continue
            p = np.array(anchor)
            gaps = np.hypot(*(dense - p).T)
            nearest = int(np.argmin(gaps))
            where = f"{line.line_id}: figure {index} at frame {frame} {anchor}"
            # Beyond an end: the nearest point is the end and the anchor is past its perpendicular.
            past_end = [float(np.dot(pts[0] - p, first)), float(np.dot(p - pts[-1], last))]
            near_end = [along[nearest], along[-1] - along[nearest]]
            for past, from_end in zip(past_end, near_end, strict=True):
                if from_end < MARGIN_PX and abs(past) < MARGIN_PX:
                    problems.append(f"{where} is within {MARGIN_PX} px of an end's perpendicular")
            if (nearest == 0 and past_end[0] > 0) or (nearest == len(dense) - 1 and past_end[1] > 0):
                side = None
                continue
            if abs(gaps[nearest] - hysteresis_px) < MARGIN_PX:
                problems.append(f"{where} is within {MARGIN_PX} px of the hysteresis band's edge")
            if gaps[nearest] < hysteresis_px:
                continue
            label = "left" if cv2.pointPolygonTest(left_region, anchor, False) > 0 else "right"
            if side is not None and label != side:
                counts["in" if label == in_label else "out"] += 1
            side = label
    _raise_if(problems)
    return LineTruth(ins=counts["in"], outs=counts["out"])


def zone_truth(scene: Scene, zone: ZoneSpec) -> ZoneTruth:
    """Visits to `zone` and its per-second occupancy, from the figures' anchors at every frame."""
    polygon = np.asarray(zone.polygon, np.float32)
    entered: dict[int, int] = {}  # figure -> frame it entered
    last_inside: dict[int, int] = {}
    enters, dwells = 0, []
    peak: dict[int, int] = {}
    problems = []
    for frame in range(scene.n_frames):
        for index, figure in enumerate(scene.figures):
            anchor = figure.anchor(frame)
            if anchor is None:
                if entered.pop(index, None) is not None:
                    problems.append(f"{zone.zone_id}: figure {index} vanishes inside the zone")
                continue
            distance = cv2.pointPolygonTest(polygon, anchor, True)
            if abs(distance) < MARGIN_PX:
                problems.append(f"{zone.zone_id}: figure {index} at frame {frame} {anchor} is on the edge")
            if distance > 0:
                enters += index not in entered
                entered.setdefault(index, frame)
                last_inside[index] = frame
            elif index in entered:
                dwells.append(scene.time(last_inside[index]) - scene.time(entered.pop(index)))
        second = math.floor(scene.time(frame))
        peak[second] = max(peak.get(second, 0), len(entered))
    if entered:
        problems.append(f"{zone.zone_id}: figures {sorted(entered)} are still inside at the end")
    _raise_if(problems)
    return ZoneTruth(enters, len(dwells), tuple(sorted(dwells)), tuple(sorted(peak.items())))


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.hypot(*vector)


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise AmbiguousScene("\n".join(problems))


# --- presets ---------------------------------------------------------------------------------


def _preset(figures: list[Figure], n_frames: int, seed: int) -> Preset:
    return Preset(Scene(tuple(figures), n_frames, seed), LINES, ZONES)


def _linger(frame: int, x: float, y: float, frames: int, seed: int) -> list[tuple[int, float, float]]:
    """Waypoints of a figure loitering on a line for `frames` frames from `frame`: swaying 25 px
    along it, jittering up to 3 px across it; it starts and ends exactly at (x, y)."""
    jitter = np.random.default_rng(seed).integers(-3, 4, frames)
    jitter[[0, -1]] = 0
    sway = 25 * np.sin(np.linspace(0, 2 * np.pi, frames))
    return [(frame + k, x + float(sway[k]), y + float(jitter[k])) for k in range(frames)]


def crossing_both_ways() -> Preset:
    """Door: one figure walks out (south), one in (north), one goes out and comes back in."""
    return _preset(
        [
            Figure(RED, ((5, 250, -9), (55, 250, 491))),
            Figure(BLUE, ((10, 400, 481), (60, 400, -19))),
            Figure(GREEN, ((20, 190, -9), (50, 190, 291), (80, 190, -9))),
        ],
        n_frames=85,
        seed=1,
    )


def lingering_on_line() -> Preset:
    """Door: one figure loiters on the line for 50 frames and leaves the way it came (no
    crossing); another loiters 30 frames and then walks on through (one OUT)."""
    return _preset(
        [
            Figure(MAGENTA, ((5, 230, -10), *_linger(30, 230, 240, 50, seed=2), (104, 230, -10))),
            Figure(YELLOW, ((15, 420, -10), *_linger(40, 420, 240, 30, seed=3), (94, 420, 490))),
        ],
        n_frames=108,
        seed=2,
    )


def walking_along_outside_segment() -> Preset:
    """Door: a figure zigzags across the line's extension beyond its left end (no crossing),
    then crosses within the extent (one OUT); another walks around the right end from north to
    south (no crossing)."""
    zigzag = ((5, -20, 226), (12, 30, 254), (19, 80, 226), (26, 130, 254), (33, 125, 200))
    around = ((40, 420, -5), (60, 420, 150), (75, 541, 150), (98, 541, 331), (113, 420, 331), (130, 420, 491))
    return _preset(
        [
            Figure(CYAN, (*zigzag, (45, 221, 200), (55, 221, 300), (74, 221, 490))),
            Figure(ORANGE, around),
        ],
        n_frames=133,
        seed=3,
    )


def occluding_pair() -> Preset:
    """Aisle: two figures walk towards each other at different depths and pass ON the line:
    the nearer one hides the farther one for a few frames, so each crossing counts only if
    the tracker keeps both identities through the merge (one IN, one OUT)."""
    return _preset(
        [
            Figure(RED, ((5, -16, 300), (73, 664, 300)), size=(26, 70)),
            Figure(BLUE, ((5, 666, 330), (73, -14, 330))),
        ],
        n_frames=76,
        seed=4,
    )


def zone_dwell() -> Preset:
    """Queue: one figure walks in and wanders inside for ~5 s; another walks straight through
    meanwhile (occupancy 2 for about a second)."""
    wander = ((46, 60, 400), (54, 41, 436), (64, 81, 411), (74, 51, 431), (84, 61, 401))
    return _preset(
        [
            Figure(GREEN, ((5, 60, -10), (40, 60, 340), *wander, (94, 61, 301), (125, 61, -9))),
            Figure(YELLOW, ((45, 151, -3), (95, 151, 497))),
        ],
        n_frames=128,
        seed=5,
    )


def full_scene() -> Preset:
    """All presets one after the other in one video, against all the geometry."""
    figures: list[Figure] = []
    offset = 0
    for part in (crossing_both_ways, lingering_on_line, walking_along_outside_segment, occluding_pair, zone_dwell):
        scene = part().scene
        figures += [figure.shifted(offset) for figure in scene.figures]
        offset += scene.n_frames
    return _preset(figures, n_frames=offset, seed=6)


PRESETS = (crossing_both_ways, lingering_on_line, walking_along_outside_segment, occluding_pair, zone_dwell)

"""Where in a frame the detector looks, and at what scale: the detection region and its tiles.

Why: a detector shrinks its whole input to a fixed size (SSDLite: 300x300), so a person 50 px
tall in a 768x576 frame is about 26 px tall in what the model sees, below what it finds
reliably. Counting happens only near the lines and zones, so the detector is given that region
(cropped), cut into overlapping tiles when one crop would still shrink people too much. Each
tile is one image of an ordinary batched `Detector.detect` call; `merge` maps the boxes back to
frame pixels and makes one box of a person that two tiles saw.

Everything here is pure arithmetic on small frozen dataclasses; `run_tiled` is the one place
that calls a detector.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from camcount.errors import ConfigError
from realtime_worker.count.geometry import as_points, point_in_polygon, polygon_self_intersects
from realtime_worker.detect.base import Detector
from realtime_worker.types import Anchor, Detections

# A tiling the user writes as "RxC": rows x columns.
GRID_PATTERN = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
# Above a line or zone, how far (in person heights) the detector must see: a person is counted
# by the anchor of a box that was tracked while walking up to it.
APPROACH_HEIGHTS = 1.0
# Of a person's box, how much lies above and below each anchor point (in person heights).
_BODY = {Anchor.BOTTOM_CENTER: (1.0, 0.0), Anchor.CENTER: (0.5, 0.5), Anchor.TOP_CENTER: (0.0, 1.0)}
# A box edge this close (px) to a tile edge inside the region was cut by that edge.
_CUT_PX = 2.0
# Merge rule: same class and IoU >= this, or one box cut and IoS >= this (see `merge`).
MERGE_IOU = 0.5
MERGE_IOS = 0.6
# Expected person height when the camera does not say: this fraction of the frame height.
DEFAULT_PERSON_FRACTION = 8


@dataclass(frozen=True, slots=True)
class Rect:
    """Pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def clip(self, width: int, height: int) -> Rect:
        return Rect(max(self.x0, 0), max(self.y0, 0), min(self.x1, width), min(self.y1, height))

    def inside(self, width: int, height: int) -> bool:
        return 0 <= self.x0 < self.x1 <= width and 0 <= self.y0 < self.y1 <= height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}+{self.x0}+{self.y0}"


@dataclass(frozen=True, slots=True)
class Grid:
    rows: int
    cols: int

    @classmethod
    def parse(cls, text: str) -> Grid:
        """'RxC' -> Grid; ValueError naming the expected form otherwise."""
        match = GRID_PATTERN.match(text)
        if not match:
            raise ValueError(f"tiles must be auto, off or RxC (e.g. 1x2), not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}"


@dataclass(frozen=True, slots=True)
class TilePlan:
    """One camera's crops for one frame size: the region, its tiles, and an optional polygon
    whose outside is not counted (boxes centred outside it are dropped)."""

    region: Rect
    tiles: tuple[Rect, ...]
    grid: Grid
    polygon: np.ndarray | None = None

    def crops(self, image: np.ndarray) -> list[np.ndarray]:
        """Views of `image`, one per tile (no copy)."""
        return [image[t.y0:t.y1, t.x0:t.x1] for t in self.tiles]

    def describe(self) -> str:
        tile = self.tiles[0]
        return f"region {self.region}, tiles {self.grid} of {tile.width}x{tile.height}"


@dataclass(frozen=True, slots=True)
class DetectorScale:
    """What tiling needs to know of a detector backend."""

    input_size: int | None  # side of the square each image is resized to; None: it works at native resolution
    min_person_px: float  # the smallest person height, in input pixels, it finds reliably
    # Most tiles `auto` cuts a region into: a CPU's speed budget (bench/latency: >= 4 cameras at
    # 10 fps on 2 cores) in units of one inference of this backend.
    max_auto_tiles: int
    # None: the longer side is scaled to input_size. N: the input takes each image's own shape,
    # in steps of N px, with no more pixels than the input_size square (`area_letterbox`).
    area_stride: int | None = None

    def factor(self, width: int, height: int) -> float:
        """How much a width x height image is scaled on its way into the detector."""
        if not self.input_size:
            return 1.0
        if self.area_stride:
            input_width, input_height = area_letterbox(width, height, self.input_size, self.area_stride)
            return min(input_width / width, input_height / height)
        return self.input_size / max(width, height)


@dataclass(frozen=True)
class TilingSpec:
    """One camera's detection settings as configured; `plan` resolves them for a frame size."""

    key: str  # the camera's config key path, for errors (e.g. "cameras[0]")
    region: str | Rect | np.ndarray  # "auto", "off", a rectangle, or a polygon's (N, 2) points
    tiles: str  # "auto", "off" or "RxC"
    person_height: float | None  # px; None: the frame height / DEFAULT_PERSON_FRACTION
    shapes: tuple[tuple[np.ndarray, Anchor], ...]  # the lines' and zones' points and anchors
    scale: DetectorScale

    def plan(self, width: int, height: int) -> TilePlan:
        """The region and tiles for a width x height frame; ValueError names the key and the reason."""
        person = self.person_height or height / DEFAULT_PERSON_FRACTION
        # Step 1: the region. `auto` crops only where the whole frame would shrink people below what
        # the detector finds: a backend at native resolution, or one whose input already shows them
        # large enough, would gain nothing but changed boxes from a crop it was not asked for.
        polygon = self.region if isinstance(self.region, np.ndarray) else None
        if isinstance(self.region, Rect) or polygon is not None:
            region = self.region if isinstance(self.region, Rect) else polygon_region(polygon)
            if not region.inside(width, height):
                raise ValueError(f"{self.key}.region {region} lies outside the {width}x{height} frame")
        elif self.region == "auto" and self.shapes and _too_small_in(person, width, height, self.scale):
            region = geometry_region(self.shapes, person).clip(width, height)
            if region.width <= 0 or region.height <= 0:
                raise ValueError(f"{self.key}: its lines and zones lie outside the {width}x{height} frame")
        else:
            region = Rect(0, 0, width, height)
        # Step 2: the grid, never finer than the detector's input.
        if self.tiles == "off" or not self.scale.input_size:
            grid = Grid(1, 1)
        elif self.tiles == "auto":
            grid = auto_grid(region, person, self.scale.input_size, self.scale.min_person_px,
                             self.scale.max_auto_tiles)
        else:
            grid = Grid.parse(self.tiles)
        tiles = grid_tiles(region, grid, person)
        if len(tiles) > 1:  # one crop of a small region is simply scaled up: that is its point
            check_tile_size(tiles[0], self.scale, f"{self.key}: tiles {grid} of region {region}")
        return TilePlan(region, tiles, grid, polygon)


def parse_region(value: str | Sequence[float] | Sequence[Sequence[float]]) -> str | Rect | np.ndarray:
    """The config's `region`: "auto" / "off", [x0, y0, x1, y1] -> Rect, [[x, y], ...] -> (N, 2) polygon."""
    if isinstance(value, str):
        return value
    if len(value) == 4 and all(isinstance(v, int | float) for v in value):
        return polygon_region(np.reshape(np.asarray(value, np.float64), (2, 2)))
    return as_points(value)


def validate_region(value: str | Sequence[float] | Sequence[Sequence[float]]) -> None:
    """ValueError for a region that holds no pixel or whose inside is ambiguous."""
    region = parse_region(value)
    if isinstance(region, Rect):
        x0, y0, x1, y1 = value
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"[x0, y0, x1, y1] = {list(value)} is empty: need x1 > x0 and y1 > y0")
    elif isinstance(region, np.ndarray):
        if len(region) < 3:
            raise ValueError("a polygon needs at least 3 points (or give a rectangle as [x0, y0, x1, y1])")
        x, y = region[:, 0], region[:, 1]
        if abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) == 0 or polygon_self_intersects(region):
            raise ValueError("the polygon is empty or crosses itself; list its corners in order around the edge")


def validate_tiles(value: str) -> None:
    if value not in ("auto", "off"):
        Grid.parse(value)


def check_tiles(
    tiles: str, region: str | Sequence[float] | Sequence[Sequence[float]], person_height: float | None,
    scale: DetectorScale, what: str,
) -> None:
    """What config validation can tell before the first frame: explicit tiles on a backend that
    works at native resolution, or explicit tiles of an explicit region smaller than the input."""
    if tiles in ("auto", "off"):
        return
    if not scale.input_size:
        raise ValueError(f"tiles {tiles}: this backend works on each camera's whole frame; use tiles: off")
    rect = parse_region(region)
    if isinstance(rect, np.ndarray):
        rect = polygon_region(rect)
    if isinstance(rect, Rect) and person_height and Grid.parse(tiles) != Grid(1, 1):
        check_tile_size(grid_tiles(rect, Grid.parse(tiles), person_height)[0], scale,
                        f"{what}: tiles {tiles} of region {rect}")


def _too_small_in(person_height: float, width: int, height: int, scale: DetectorScale) -> bool:
    """A person of `person_height` in a width x height image falls below what the detector finds
    once the image is resized to its input."""
    return bool(scale.input_size) and person_height * scale.factor(width, height) < scale.min_person_px


def area_scale(width: int, height: int, input_size: int) -> float:
    """The scale that gives a width x height image the pixels of an input_size square, but never
    enlarges it more than letterboxing into that square would (a small crop gains no detail)."""
    return min(math.sqrt(input_size * input_size / (width * height)), max(1.0, input_size / max(width, height)))


def area_letterbox(width: int, height: int, input_size: int, stride: int) -> tuple[int, int]:
    """The detector input (width, height) for an image: a rectangle of `stride` multiples (the
    network's coarsest cell) with no more pixels than the input_size square, that shows the image
    largest, never larger than at `area_scale`.

    Why: a square input pads a 16:9 image with 44% black and shrinks its people by the same
    factor as its width; the image's own shape spends those pixels on the image instead, at no
    more cost per inference (NanoDet: people 1.23x taller on a 640x360 frame).
    """
    scale = area_scale(width, height, input_size)
    # Each side just holds the image at that scale, or one stride less where both would not fit.
    sides = [(max(stride, math.ceil(width * scale / stride - 1e-6) * stride - dw),
              max(stride, math.ceil(height * scale / stride - 1e-6) * stride - dh))
             for dw in (0, stride) for dh in (0, stride)]
    fitting = [side for side in sides if side[0] * side[1] <= input_size * input_size] or [min(sides)]
    return max(fitting, key=lambda side: (min(side[0] / width, side[1] / height), -side[0] * side[1]))


def check_tile_size(tile: Rect, scale: DetectorScale, what: str) -> None:
    if _too_small(tile, scale.input_size):
        raise ValueError(f"{what} are {tile.width}x{tile.height} px, smaller than the detector's "
                         f"{scale.input_size} px input: use fewer tiles")


class CameraTiling:
    """A camera's `TilingSpec`, planned once per frame size (a stream may change resolution)."""

    def __init__(self, spec: TilingSpec) -> None:
        self.spec = spec
        self._plans: dict[tuple[int, int], TilePlan] = {}

    def plan(self, image: np.ndarray) -> TilePlan:
        height, width = image.shape[:2]
        if (width, height) not in self._plans:
            try:
                self._plans[(width, height)] = self.spec.plan(width, height)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        return self._plans[(width, height)]


def geometry_region(shapes: Sequence[tuple[np.ndarray, Anchor]], person_height: float) -> Rect:
    """The box that holds every person who is counted, from the lines' and zones' points.

    Each shape's bounding box grows by `APPROACH_HEIGHTS` person heights on every side (people
    are tracked as they walk up to a line), plus the body that lies beyond its anchor: with the
    feet as anchor, a whole person height above. Not clipped to the frame.
    """
    boxes = []
    for points, anchor in shapes:
        points = as_points(points)
        above, below = _BODY[anchor]
        margin = APPROACH_HEIGHTS * person_height
        lo = points.min(axis=0) - np.array([margin, margin + above * person_height])
        hi = points.max(axis=0) + np.array([margin, margin + below * person_height])
        boxes.append(np.r_[lo, hi])
    x0, y0 = np.min(boxes, axis=0)[:2]
    x1, y1 = np.max(boxes, axis=0)[2:]
    return Rect(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))


def polygon_region(polygon: np.ndarray) -> Rect:
    """The bounding rectangle of an explicit region polygon (or of a rectangle's two corners)."""
    points = as_points(polygon)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return Rect(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))


def overlap(person_height: float) -> tuple[int, int]:
    """Tiles overlap by about a person's width across and a person's height down, so a person of
    the expected height lies whole in at least one of two neighbouring tiles."""
    return math.ceil(0.5 * person_height), math.ceil(person_height)


def auto_grid(
    region: Rect, person_height: float, input_size: int, min_person_px: float, max_tiles: int
) -> Grid:
    """The fewest tiles at which a person of `person_height` reaches `min_person_px` in the
    detector's `input_size` square input, with no tile smaller than that input and at most
    `max_tiles` tiles (the speed budget).

    Step 1: the largest tile side that scales the person up to `min_person_px` (never below the
    input size: a smaller tile would only be upsampled). Step 2: how many such tiles, with their
    overlaps, cover the region along each axis. Step 3: over budget, or with tiles smaller than
    the input both ways (a narrow region), take a tile off the axis whose tiles are the
    narrower until it fits (tiles stay as square as the region allows).
    """
    side = max(float(input_size), input_size * person_height / min_person_px)
    over_x, over_y = overlap(person_height)
    grid = Grid(_count_along(region.height, side, over_y), _count_along(region.width, side, over_x))
    while grid.rows * grid.cols > max_tiles or _too_small(grid_tiles(region, grid, person_height)[0], input_size):
        if grid == Grid(1, 1):
            break
        narrower_columns = grid.rows == 1 or (grid.cols > 1 and region.width / grid.cols < region.height / grid.rows)
        grid = Grid(grid.rows, grid.cols - 1) if narrower_columns else Grid(grid.rows - 1, grid.cols)
    return grid


def _too_small(tile: Rect, input_size: int | None) -> bool:
    """Smaller than the detector's input both ways: it would only be upsampled, no new detail, more work."""
    return bool(input_size) and max(tile.width, tile.height) < input_size


def _count_along(length: int, side: float, over: int) -> int:
    """Tiles of at most `side` that cover `length` when each overlaps the next by `over`."""
    if length <= side:
        return 1
    return math.ceil((length - over) / max(side - over, 1.0))


def grid_tiles(region: Rect, grid: Grid, person_height: float) -> tuple[Rect, ...]:
    """Equal tiles of `region`, rows x cols, each overlapping its neighbours by `overlap`."""
    over_x, over_y = overlap(person_height)
    xs = _spans(region.x0, region.width, grid.cols, over_x)
    ys = _spans(region.y0, region.height, grid.rows, over_y)
    return tuple(Rect(x0, y0, x1, y1) for y0, y1 in ys for x0, x1 in xs)


def _spans(start: int, length: int, count: int, over: int) -> list[tuple[int, int]]:
    """`count` equal spans covering [start, start + length), neighbours sharing `over` pixels
    (less when the spans would otherwise be shorter than the overlap)."""
    over = min(over, length // (count + 1)) if count > 1 else 0
    size = math.ceil((length + (count - 1) * over) / count)
    starts = [start + round(i * (length - size) / (count - 1)) if count > 1 else start for i in range(count)]
    return [(s, s + size) for s in starts]


def merge(per_tile: Sequence[Detections], plan: TilePlan) -> Detections:
    """One frame's detections from its tiles' detections, in frame pixels.

    Step 1: shift each tile's boxes by its origin, and mark the boxes cut by a tile edge that
    lies inside the region (the neighbouring tile holds the rest of that person). Step 2: greedy
    non-maximum merge per class, highest score first: a box whose IoU with a kept box of the same
    class is at least `MERGE_IOU` is the same person seen by two tiles, and is dropped; a box
    that is not, but where either is cut and the intersection covers at least `MERGE_IOS` of the
    smaller one, or where both are cut by the same seam from its two sides and line up along it
    (a person taller or wider than the overlap), is a part of that person, and the kept box grows
    to the union of both.
    Requiring a cut for the second rule keeps a far person partly hidden behind a near one a box
    of its own. Step 3:
    with a polygon region, drop boxes whose centre lies outside it.
    """
    if len(plan.tiles) == 1:
        merged = _shift(per_tile[0], plan.tiles[0])
    else:
        shifted = [_shift(dets, tile) for dets, tile in zip(per_tile, plan.tiles, strict=True)]
        cut = np.concatenate([_cut_by_inner_edge(d.xyxy, t, plan.region) for d, t in zip(shifted, plan.tiles,
                                                                                           strict=True)])
        merged = _merge_boxes(_concat(shifted, per_tile[0].class_names), cut)
    if plan.polygon is not None and len(merged):
        merged = merged[point_in_polygon(merged.anchors(Anchor.CENTER), plan.polygon)]
    return merged


def _shift(detections: Detections, tile: Rect) -> Detections:
    xyxy = detections.xyxy + np.array([tile.x0, tile.y0, tile.x0, tile.y0], np.float32)
    return Detections(xyxy, detections.confidence, detections.class_id, class_names=detections.class_names)


def _concat(parts: Sequence[Detections], class_names: dict[int, str]) -> Detections:
    return Detections(
        xyxy=np.concatenate([p.xyxy for p in parts]).astype(np.float32),
        confidence=np.concatenate([p.confidence for p in parts]).astype(np.float32),
        class_id=np.concatenate([p.class_id for p in parts]).astype(np.int32),
        class_names=class_names,
    )


def _cut_by_inner_edge(xyxy: np.ndarray, tile: Rect, region: Rect) -> np.ndarray:
    """(N, 4) bool: which of the box's left, top, right, bottom sides lie on an edge of `tile`
    that is not an edge of `region` (a seam with the neighbouring tile)."""
    edges = np.array([tile.x0, tile.y0, tile.x1, tile.y1], np.float32)
    inner = edges != np.array([region.x0, region.y0, region.x1, region.y1], np.float32)
    return (np.abs(xyxy - edges) <= _CUT_PX) & inner


def _merge_boxes(detections: Detections, cut: np.ndarray) -> Detections:
    """Greedy non-maximum merge (see `merge`, step 2)."""
    xyxy = detections.xyxy.astype(np.float64)
    order = list(np.argsort(-detections.confidence, kind="stable"))
    keep: list[int] = []
    while order:
        i, order = order[0], order[1:]
        rest = np.array(order, np.intp)
        if len(rest):
            inter = _intersection(xyxy[i], xyxy[rest])
            area_i, area_rest = _area(xyxy[i]), _area(xyxy[rest])
            iou = inter / (area_i + area_rest - inter)
            ios = inter / np.minimum(area_i, area_rest)
            same = detections.class_id[rest] == detections.class_id[i]
            duplicate = same & (iou >= MERGE_IOU)
            inside = (cut[i].any() | cut[rest].any(axis=1)) & (ios >= MERGE_IOS)
            part = same & ~duplicate & (inside | _halves(xyxy[i], cut[i], xyxy[rest], cut[rest]))
            for j in rest[part]:
                xyxy[i] = np.r_[np.minimum(xyxy[i, :2], xyxy[j, :2]), np.maximum(xyxy[i, 2:], xyxy[j, 2:])]
            order = list(rest[~(duplicate | part)])
        keep.append(int(i))
    kept = detections[np.array(keep, np.intp)]
    kept.xyxy = xyxy[keep].astype(np.float32)
    return kept


def _halves(box: np.ndarray, box_cut: np.ndarray, boxes: np.ndarray, boxes_cut: np.ndarray) -> np.ndarray:
    """(N,) bool: `box` and each of `boxes` are the two sides of one person cut by a seam: one cut at
    its bottom (right), the other at its top (left), overlapping, and aligned along the seam."""
    across_rows = (box_cut[3] & boxes_cut[:, 1]) | (box_cut[1] & boxes_cut[:, 3])
    across_cols = (box_cut[2] & boxes_cut[:, 0]) | (box_cut[0] & boxes_cut[:, 2])
    overlap = _intersection(box, boxes) > 0
    return overlap & ((across_rows & (_span_iou(box, boxes, 0) >= MERGE_IOU))
                      | (across_cols & (_span_iou(box, boxes, 1) >= MERGE_IOU)))


def _span_iou(box: np.ndarray, boxes: np.ndarray, axis: int) -> np.ndarray:
    """IoU of the boxes' extents along one axis (0: x, 1: y)."""
    lo, hi = box[axis], box[axis + 2]
    inter = np.clip(np.minimum(hi, boxes[:, axis + 2]) - np.maximum(lo, boxes[:, axis]), 0, None)
    return inter / ((hi - lo) + (boxes[:, axis + 2] - boxes[:, axis]) - inter)


def _intersection(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    return np.prod(np.clip(rb - lt, 0, None), axis=1)


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.prod(boxes[..., 2:] - boxes[..., :2], axis=-1)


@dataclass(frozen=True, slots=True)
class TiledRun:
    detections: list[Detections]  # one per image, in frame pixels
    calls: list[int]  # images (tiles) per detector call, in call order


def run_tiled(detector: Detector, images: Sequence[np.ndarray], plans: Sequence[TilePlan], max_batch: int) -> TiledRun:
    """Detect every tile of every image in calls of at most `max_batch` tiles, then merge each
    image's tiles: tiles of many cameras share a call exactly as whole frames did."""
    crops = [crop for image, plan in zip(images, plans, strict=True) for crop in plan.crops(image)]
    found: list[Detections] = []
    calls = []
    for start in range(0, len(crops), max_batch):
        chunk = crops[start:start + max_batch]
        found += detector.detect(chunk)
        calls.append(len(chunk))
    detections, at = [], 0
    for plan in plans:
        detections.append(merge(found[at:at + len(plan.tiles)], plan))
        at += len(plan.tiles)
    return TiledRun(detections, calls)

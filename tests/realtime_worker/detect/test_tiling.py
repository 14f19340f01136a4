"""Region and tile arithmetic, the merge of tiles' boxes, and batching tiles across cameras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from camcount.errors import ConfigError
from realtime_worker.config import load_config
from realtime_worker.detect import detector_scale
from realtime_worker.detect.tiling import (
    CameraTiling,
    DetectorScale,
    Grid,
    Rect,
    TilePlan,
    TilingSpec,
    area_letterbox,
    auto_grid,
    geometry_region,
    grid_tiles,
    merge,
    overlap,
    parse_region,
    run_tiled,
)
from realtime_worker.types import Anchor, Detections


def dets(*boxes: tuple[float, float, float, float], conf: float = 0.9, cls: int = 0) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), conf, np.float32),
                      np.full(len(boxes), cls, np.int32))


def test_grid_parses_rows_by_columns_and_refuses_anything_else() -> None:
    assert Grid.parse("2x3") == Grid(2, 3) and str(Grid(2, 3)) == "2x3"
    for bad in ("0x2", "2", "2x", "x3", "2X3", "auto"):
        with pytest.raises(ValueError, match="auto, off or RxC"):
            Grid.parse(bad)


def test_geometry_region_holds_the_whole_body_of_a_person_walking_up_to_a_line() -> None:
    line = np.array([[300, 200], [300, 400]])
    # Feet anchor: a person height of approach on every side, plus the body above the feet.
    assert geometry_region([(line, Anchor.BOTTOM_CENTER)], 50) == Rect(250, 100, 350, 450)
    assert geometry_region([(line, Anchor.TOP_CENTER)], 50) == Rect(250, 150, 350, 500)
    zone = np.array([[0, 500], [100, 500], [100, 560]])
    assert geometry_region([(line, Anchor.CENTER), (zone, Anchor.BOTTOM_CENTER)], 50) == Rect(-50, 125, 350, 610)


def test_tiles_cover_the_region_and_overlap_by_a_person() -> None:
    region = Rect(10, 20, 778, 480)
    tiles = grid_tiles(region, Grid(2, 3), person_height=60)
    assert len(tiles) == 6 and len({(t.width, t.height) for t in tiles}) == 1
    assert min(t.x0 for t in tiles) == 10 and max(t.x1 for t in tiles) == 778
    assert min(t.y0 for t in tiles) == 20 and max(t.y1 for t in tiles) == 480
    over_x, over_y = overlap(60)
    assert (tiles[0].x1 - tiles[1].x0, tiles[0].y1 - tiles[3].y0) == (over_x, over_y) == (30, 60)
    assert grid_tiles(region, Grid(1, 1), 60) == (region,)


def test_auto_grid_scales_the_expected_person_up_to_what_the_detector_finds() -> None:
    region = Rect(0, 0, 768, 576)
    # 300-px input that needs people >= 60 px: tiles of at most 300 * 72 / 60 = 360 px.
    assert auto_grid(region, 72, 300, 60, max_tiles=16) == Grid(2, 3)
    # Tall people: the whole region in one tile.
    assert auto_grid(region, 200, 300, 60, max_tiles=16) == Grid(1, 1)
    # Never tiles smaller than the input, however small the people.
    assert auto_grid(Rect(0, 0, 600, 300), 5, 300, 60, max_tiles=16) == Grid(1, 3)
    # The budget takes tiles off the longer axis first.
    assert auto_grid(region, 72, 300, 60, max_tiles=2) == Grid(1, 2)
    assert auto_grid(region, 72, 300, 60, max_tiles=4) == Grid(2, 2)


def plan_1x2() -> TilePlan:
    region = Rect(0, 0, 400, 200)
    return TilePlan(region, (Rect(0, 0, 220, 200), Rect(180, 0, 400, 200)), Grid(1, 2))


def test_merge_maps_boxes_to_frame_pixels_and_makes_one_box_of_a_person_seen_twice() -> None:
    plan = plan_1x2()
    # A person wholly inside the overlap (x 190..210 in the frame) is seen by both tiles.
    left, right = dets((190, 50, 210, 120), conf=0.8), dets((11, 51, 31, 121), conf=0.9)
    merged = merge([left, right], plan)
    assert len(merged) == 1 and merged.confidence[0] == pytest.approx(0.9)
    np.testing.assert_allclose(merged.xyxy[0], [191, 51, 211, 121])  # the better box, as NMS keeps it


def test_merge_joins_a_person_cut_by_a_tile_edge() -> None:
    plan = plan_1x2()
    # Left tile sees the person whole (x 150..200); the right tile (from x 180) sees a cut part.
    left, right = dets((150, 40, 200, 160), conf=0.7), dets((0, 42, 20, 158), conf=0.8)
    merged = merge([left, right], plan)
    assert len(merged) == 1
    np.testing.assert_allclose(merged.xyxy[0], [150, 40, 200, 160])
    # A person wider than the overlap is cut in both tiles: the two parts become one box.
    left, right = dets((150, 40, 220, 160)), dets((0, 40, 60, 160))
    np.testing.assert_allclose(merge([left, right], plan).xyxy, [[150, 40, 240, 160]])
    # ... however little of each part lies in the overlap, if they line up along the seam.
    left, right = dets((120, 40, 219, 160)), dets((1, 45, 90, 158))
    np.testing.assert_allclose(merge([left, right], plan).xyxy, [[120, 40, 270, 160]])
    # Two people side by side at the seam, at different heights, stay two.
    left, right = dets((150, 40, 219, 100)), dets((1, 120, 60, 190))
    assert len(merge([left, right], plan)) == 2


def test_merge_keeps_a_far_person_behind_a_near_one_and_other_classes_apart() -> None:
    plan = plan_1x2()
    near, far = (20, 20, 120, 190), (40, 30, 70, 100)  # far lies inside near: IoS 1, IoU 0.12
    assert len(merge([dets(near, far), dets()], plan)) == 2
    # Same box, different classes: class-aware, both stay.
    both = Detections(np.array([[190, 50, 210, 120]], np.float32), np.array([0.9], np.float32),
                      np.array([2], np.int32))
    assert len(merge([dets((190, 50, 210, 120)), Detections(both.xyxy - [180, 0, 180, 0], both.confidence,
                                                            both.class_id)], plan)) == 2


def test_merge_drops_boxes_centred_outside_a_polygon_region() -> None:
    region = Rect(0, 0, 200, 200)
    polygon = np.array([[0, 0], [200, 0], [0, 200]], np.float64)  # the upper-left half
    plan = TilePlan(region, (region,), Grid(1, 1), polygon)
    kept = merge([dets((10, 10, 30, 60), (150, 150, 170, 190))], plan)
    np.testing.assert_allclose(kept.xyxy, [[10, 10, 30, 60]])


class Recorder:
    """A detector that returns one box per image, the image's size, and records its calls."""

    def __init__(self) -> None:
        self.class_names = {0: "person"}
        self.calls: list[list[tuple[int, ...]]] = []

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        self.calls.append([image.shape for image in images])
        return [dets((0, 0, image.shape[1], image.shape[0])) for image in images]


def test_tiles_of_all_cameras_share_calls_capped_by_max_batch() -> None:
    detector = Recorder()
    frames = [np.zeros((200, 400, 3), np.uint8), np.zeros((100, 100, 3), np.uint8)]
    whole = TilePlan(Rect(0, 0, 100, 100), (Rect(0, 0, 100, 100),), Grid(1, 1))
    run = run_tiled(detector, frames, [plan_1x2(), whole], max_batch=2)
    assert run.calls == [2, 1]
    assert detector.calls == [[(200, 220, 3), (200, 220, 3)], [(100, 100, 3)]]
    assert [len(d) for d in run.detections] == [1, 1]  # the tile-sized boxes meet at the seam: one "person"
    np.testing.assert_allclose(run.detections[1].xyxy, [[0, 0, 100, 100]])


def write(tmp_path: Path, camera: dict[str, Any], detector: dict[str, Any] | None = None) -> Path:
    document = {"sites": [{"id": "s"}], "detector": detector or {},
                "cameras": [{"id": "cam", "site": "s", "source": "rtsp://127.0.0.1:9/x", **camera}]}
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(("camera", "detector", "message"), [
    ({"region": [100, 100, 100, 300]}, {}, r"cameras\[0\]\.region: .*is empty"),
    ({"region": [[0, 0], [10, 10]]}, {}, r"cameras\[0\]\.region: .*at least 3 points"),
    ({"region": [[0, 0], [10, 10], [20, 20]]}, {}, r"cameras\[0\]\.region: .*empty or crosses itself"),
    ({"person_height_px": 0}, {}, r"cameras\[0\]\.person_height_px: .*greater than 0"),
    ({}, {"tiles": "3by2"}, r"detector\.tiles: tiles must be auto, off or RxC"),
    ({"region": [0, 0, 768, 576], "person_height_px": 60}, {"tiles": "3x4"},
     r"detector: camera 'cam': tiles 3x4 of region 768x576\+0\+0 are 215x232 px, smaller than the .* 416 px"),
    ({}, {"backend": "motion", "tiles": "2x2"}, r"detector: tiles 2x2: .*whole frame; use tiles: off"),
])
def test_bad_settings_fail_the_config_with_key_path_and_reason(
    tmp_path: Path, camera: dict[str, Any], detector: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, camera, detector))


def spec(**overrides: Any) -> TilingSpec:
    settings = {"key": "cameras[0]", "region": "auto", "tiles": "auto", "person_height": None,
                "shapes": ((np.array([[384.0, 140], [384, 330]]), Anchor.BOTTOM_CENTER),),
                "scale": DetectorScale(input_size=300, min_person_px=60, max_auto_tiles=2)}
    return TilingSpec(**{**settings, **overrides})


def test_plan_derives_the_region_from_the_lines_and_the_default_person_height() -> None:
    plan = spec().plan(768, 576)  # person 72 px: 72 around the line, 72 more above it, clipped to the frame
    assert plan.region == Rect(312, 0, 456, 402)
    # 2 rows would bring the person to 60 px, but 144x237 tiles are smaller than the input: one crop.
    assert plan.grid == Grid(1, 1) and plan.describe() == "region 144x402+312+0, tiles 1x1 of 144x402"
    assert spec(region="off").plan(768, 576).region == Rect(0, 0, 768, 576)
    assert spec(shapes=()).plan(768, 576).region == Rect(0, 0, 768, 576)  # nothing to derive it from
    assert spec(tiles="off").plan(768, 576).grid == Grid(1, 1)
    native = spec(scale=DetectorScale(input_size=None, min_person_px=0, max_auto_tiles=1)).plan(768, 576)
    assert native.region == Rect(0, 0, 768, 576) and native.grid == Grid(1, 1)


def test_plan_refuses_a_region_outside_the_frame_at_the_first_frame() -> None:
    tiling = CameraTiling(spec(region=parse_region([0, 0, 800, 400])))
    with pytest.raises(ConfigError, match=r"^cameras\[0\]\.region 800x400\+0\+0 lies outside the 768x576 frame$"):
        tiling.plan(np.zeros((576, 768, 3), np.uint8))
    with pytest.raises(ConfigError, match=r"cameras\[0\]: its lines and zones lie outside the 640x480 frame"):
        CameraTiling(spec(shapes=((np.array([[900.0, 900], [990, 990]]), Anchor.BOTTOM_CENTER),))).plan(
            np.zeros((480, 640, 3), np.uint8))


def test_auto_crops_only_where_the_whole_frame_would_shrink_people_too_much() -> None:
    # YOLO at 640 sees a 72 px person of a 768 px frame at 60 px, well above its 24: the whole frame.
    yolo = DetectorScale(input_size=640, min_person_px=24, max_auto_tiles=2)
    assert spec(scale=yolo).plan(768, 576).region == Rect(0, 0, 768, 576)
    # A 4K frame shrinks that person to 12 px: crop to the lines.
    assert spec(scale=yolo, person_height=72.0).plan(3840, 2160).region == Rect(312, 0, 456, 402)


def test_one_crop_smaller_than_the_input_is_scaled_up_not_refused() -> None:
    yolo = DetectorScale(input_size=640, min_person_px=24, max_auto_tiles=2)
    plan = spec(scale=yolo, region=parse_region([312, 0, 456, 402]), tiles="1x1").plan(768, 576)
    assert plan.grid == Grid(1, 1) and plan.region == Rect(312, 0, 456, 402)


def test_auto_tiles_within_each_backends_cpu_budget() -> None:
    # Lines across the whole plaza: a 768-wide region, where a 72 px person is too small for both.
    across = {"shapes": ((np.array([[0.0, 300], [768, 300]]), Anchor.BOTTOM_CENTER),)}
    ssdlite = spec(scale=detector_scale("ssdlite", 640), **across).plan(768, 576)
    nanodet = spec(scale=detector_scale("nanodet", 640), **across).plan(768, 576)
    assert ssdlite.grid == Grid(1, 2)  # two of its ~12 ms inferences
    assert nanodet.grid == Grid(1, 1) and nanodet.region == ssdlite.region  # one of its ~24 ms: a crop


def test_same_area_inputs_take_the_image_shape_at_the_cost_of_the_square() -> None:
    # A square keeps the square input; a 16:9 frame gets its own shape with no more pixels, and
    # its people are 1.23x taller in it than letterboxed into the square (416 / 640 = 0.65).
    assert area_letterbox(768, 768, 416, 32) == (416, 416)
    assert area_letterbox(640, 360, 416, 32) == (544, 288)
    assert area_letterbox(768, 576, 416, 32) == (480, 352)
    for width, height in [(640, 360), (768, 576), (768, 402), (1920, 1080), (300, 1000)]:
        w, h = area_letterbox(width, height, 416, 32)
        assert w % 32 == 0 and h % 32 == 0 and 0.85 < w * h / 416**2 <= 1, (width, height, w, h)
        assert min(w / width, h / height) > 416 / max(width, height)  # people larger than in the square
    # A small crop is enlarged no more than the square would (no detail to gain): a 350x402 region
    # sees the square's scale in a narrower input.
    assert area_letterbox(350, 402, 416, 32) == (384, 416)
    assert area_letterbox(200, 100, 416, 32) == (416, 224)
    assert area_letterbox(300, 300, 416, 32) == (416, 416)
    nanodet = detector_scale("nanodet", 640)
    assert nanodet.factor(640, 360) == 0.8  # 544x288: 640x360 at 0.8
    assert nanodet.factor(350, 402) == pytest.approx(416 / 402)
    assert detector_scale("ssdlite", 640).factor(640, 360) == 300 / 640

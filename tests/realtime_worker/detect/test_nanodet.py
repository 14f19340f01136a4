"""The bundled NanoDet detector on real frames of the sample clip, its factory and its config."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from camcount.errors import ConfigError, DetectorError
from realtime_worker.config import load_config
from realtime_worker.detect import detector_scale, load_detector
from realtime_worker.detect.nanodet import INPUT_SIZE, STRIDE, NanodetDetector
from realtime_worker.detect.ssdlite import MODEL_PATH as SSDLITE_PATH
from realtime_worker.detect.ssdlite import SsdliteDetector
from realtime_worker.detect.tiling import area_letterbox
from realtime_worker.track import iou
from realtime_worker.types import Detections

CONFIG = """
sites: [{id: plaza, timezone: UTC}]
cameras:
  - id: cam1
    site: plaza
    source: rtsp://127.0.0.1:8554/cam1
    region: [0, 0, 700, 500]
    person_height_px: 60
    lines:
      - {id: door, points: [[100, 300], [600, 300]]}
"""


@pytest.fixture(scope="module")
def detector() -> NanodetDetector:
    return NanodetDetector(threads=2)


def assert_same(a: Detections, b: Detections, scale: float = 1.0) -> None:
    np.testing.assert_allclose(a.xyxy * scale, b.xyxy, atol=1e-2)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-5)
    np.testing.assert_array_equal(a.class_id, b.class_id)


def test_finds_the_people_ssdlite_finds_and_more(detector: NanodetDetector, frames: dict[int, np.ndarray]) -> None:
    images = list(frames.values())
    ssdlite = SsdliteDetector(threads=2).detect(images)
    for index, found, reference in zip(frames, detector.detect(images), ssdlite, strict=True):
        # These frames show 3 to 9 people; SSDLite finds 2 to 7 of them at 0.4 (measured).
        assert len(reference) <= len(found) <= 10, (index, len(found), len(reference))
        assert found.xyxy.dtype == np.float32 and found.xyxy.shape == (len(found), 4)
        assert (found.confidence >= 0.4).all() and (found.class_id == 0).all()
        assert found.class_name(0) == "person"
        # Pixel boxes of the 768x576 frame, shaped like people seen from above at this distance.
        x1, y1, x2, y2 = found.xyxy.T
        assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= 768).all() and (y2 <= 576).all()
        assert ((y2 - y1) > (x2 - x1)).all() and ((y2 - y1) > 15).all() and ((y2 - y1) < 200).all()
        # Every person SSDLite finds (it is rarely wrong at 0.4) is one of NanoDet's (its boxes are narrower).
        overlap = iou(reference.xyxy.astype(np.float64), found.xyxy.astype(np.float64))
        assert (overlap.max(axis=1, initial=0) >= 0.3).all(), (index, overlap.max(axis=1, initial=0))


def test_batch_equals_single_calls(detector: NanodetDetector, frames: dict[int, np.ndarray]) -> None:
    # Whole frames and crops of other shapes in one call: each shape is its own pass of the graph.
    images = [*frames.values(), frames[100][100:400, 50:700], frames[400][:, 200:488]]
    batched = detector.detect(images)
    assert len(batched) == len(images)
    for image, result in zip(images, batched, strict=True):
        assert_same(result, detector.detect([image])[0])


@pytest.mark.parametrize(("crop", "size"), [((slice(None), slice(None)), (480, 352)),
                                            ((slice(None), slice(200, 488)), (288, 576))], ids=["4:3", "1:2"])
def test_boxes_scale_with_the_image(detector: NanodetDetector, frames: dict[int, np.ndarray], crop: tuple,
                                    size: tuple[int, int]) -> None:
    # An image already in the shape of its own input goes in as it is; the same image doubled (each
    # pixel 2x2) is letterboxed to exactly that input, so its boxes must be exactly twice as large,
    # along both axes and whichever side is the longer.
    small = cv2.resize(frames[700][crop], size, interpolation=cv2.INTER_AREA)
    doubled = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    assert area_letterbox(*size, INPUT_SIZE, STRIDE) == size
    assert area_letterbox(size[0] * 2, size[1] * 2, INPUT_SIZE, STRIDE) == size
    one, two = detector.detect([small, doubled])
    assert len(one) > 0
    assert_same(one, two, scale=2.0)


def test_tiling_knows_the_input_the_detector_builds() -> None:
    scale = detector_scale("nanodet", 640)  # known before the model loads (check-config)
    assert (scale.input_size, scale.area_stride) == (INPUT_SIZE, STRIDE)


def test_another_onnx_model_is_refused() -> None:
    with pytest.raises(DetectorError, match="is not the NanoDet model"):
        NanodetDetector(model_path=SSDLITE_PATH)


def test_load_detector_nanodet(frames: dict[int, np.ndarray]) -> None:
    options = {"weights": None, "device": "auto", "imgsz": 640}
    detector = load_detector("nanodet", classes=["person"], confidence=0.7, **options)
    assert isinstance(detector, NanodetDetector) and detector.class_names == {0: "person"}
    [found] = detector.detect([frames[100]])
    assert len(found) > 0 and (found.confidence >= 0.7).all()
    with pytest.raises(DetectorError, match="nanodet backend detects only 'person'"):
        load_detector("nanodet", classes=["person", "car"], confidence=0.4, **options)


def test_config_accepts_nanodet_and_checks_tiles_against_its_input(tmp_path: Path) -> None:
    path = tmp_path / "worker.yaml"
    path.write_text(CONFIG + "detector: {backend: nanodet}\n")
    assert load_config(path).detector.backend == "nanodet"
    # 2x2 tiles of the 700x500 region are about 390x290: fine for SSDLite's 300 px, not NanoDet's 416.
    path.write_text(CONFIG + "detector: {backend: ssdlite, tiles: 2x2}\n")
    load_config(path)
    path.write_text(CONFIG + "detector: {backend: nanodet, tiles: 2x2}\n")
    with pytest.raises(ConfigError, match=r"detector: .*camera 'cam1': tiles 2x2 .* smaller than the detector's 416"):
        load_config(path)

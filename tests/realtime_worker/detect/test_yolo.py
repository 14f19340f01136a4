"""The ultralytics backend with real YOLOv8s weights (test-only, AGPL-3.0: see scripts/fetch_test_weights.sh).

Their classes are {0: Normal, 1: Fall}; "Normal" is an upright person.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from camcount.errors import DetectorError
from realtime_worker.detect import load_detector
from realtime_worker.detect.yolo import REMEDY, YoloDetector
from realtime_worker.types import Detections

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.yolo


@pytest.fixture(scope="module")
def detector(yolo_weights: str) -> YoloDetector:
    return YoloDetector(weights=yolo_weights, classes=("Normal",))


@pytest.fixture(scope="module")
def bus() -> np.ndarray:
    # A street photo that ships inside ultralytics: 4 people standing, one half cut off at the edge.
    spec = importlib.util.find_spec("ultralytics")
    assert spec and spec.origin
    return cv2.imread(str(Path(spec.origin).parent / "assets" / "bus.jpg"))


@pytest.fixture(scope="module")
def plaza(sample_video: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(sample_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, image = cap.read()
    assert ok
    return image


def test_finds_the_people_on_bus_jpg(detector: YoloDetector, bus: np.ndarray) -> None:
    [found] = detector.detect([bus])
    assert 3 <= len(found) <= 5
    assert (found.confidence >= 0.35).all() and (found.class_id == 0).all()
    assert found.class_name(0) == "Normal" and detector.class_names == {0: "Normal"}
    h, w = bus.shape[:2]
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= w).all() and (y2 <= h).all()
    assert ((y2 - y1) > 300).all()  # full-height pedestrians in a 1080-pixel-high photo


def test_batch_has_no_cross_talk(detector: YoloDetector, bus: np.ndarray, plaza: np.ndarray) -> None:
    # Different sizes in one batch: each image must get exactly what it gets alone.
    batched = detector.detect([bus, plaza])
    singles = [detector.detect([image])[0] for image in (bus, plaza)]
    assert len(singles[1]) >= 3
    for got, alone in zip(batched, singles, strict=True):
        assert_same(got, alone)


def test_frames_are_letterboxed_as_model_predict_does_one_image(detector: YoloDetector, plaza: np.ndarray) -> None:
    """A rectangular letterbox (640x480 for this 768x576 frame), not a 640x640 square: the peer's
    `model.predict` / `model.track` results, at less cost."""
    [found] = detector.detect([plaza, plaza[:288]])[:1]
    boxes = detector._model.predict(plaza, conf=0.35, classes=[0], imgsz=640, verbose=False)[0].boxes
    np.testing.assert_allclose(np.sort(found.xyxy, axis=0), np.sort(boxes.xyxy.cpu().numpy(), axis=0), atol=0.5)


def assert_same(a: Detections, b: Detections) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-3)


def test_load_detector_with_class_aliases(yolo_weights: str, bus: np.ndarray) -> None:
    detector = load_detector(
        "ultralytics",
        weights=yolo_weights,
        device="auto",
        classes=["Normal"],
        confidence=0.35,
        imgsz=640,
        class_aliases={"Normal": "person"},
    )
    assert isinstance(detector, YoloDetector) and detector.class_names == {0: "person"}
    [found] = detector.detect([bus])
    assert len(found) >= 3 and found.class_name(0) == "person"
    assert detector.detect([]) == []


def test_unknown_class_names_the_known_ones(yolo_weights: str) -> None:
    with pytest.raises(DetectorError, match=r"\['person'\].*\['Fall', 'Normal'\]"):
        YoloDetector(weights=yolo_weights, classes=("person",))


@pytest.mark.parametrize("weights", ["yolo11n.pt", "missing.pt", "/nowhere/weights.onnx", "missing.engine"])
def test_unloadable_weights_fail_fast_with_the_remedy(
    weights: str, detector: YoloDetector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `detector` has imported ultralytics already, so the time measured is the failure alone.
    # Offline for sure (an unreachable proxy), from an empty directory so no stray weights are found.
    monkeypatch.chdir(tmp_path)
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    for bypass in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(bypass, raising=False)
    started = time.perf_counter()
    with pytest.raises(DetectorError) as caught:
        YoloDetector(weights=weights, classes=("Normal",))
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert message.endswith(REMEDY) and "\n" not in message and weights in message
    assert caught.value.exit_code == 6

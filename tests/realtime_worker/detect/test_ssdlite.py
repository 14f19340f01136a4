"""The bundled SSDLite detector on real frames of the sample clip, and the detector factory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from camcount.errors import ConfigError, DetectorError
from realtime_worker.detect import load_detector
from realtime_worker.detect.ssdlite import MODEL_PATH, SsdliteDetector
from realtime_worker.types import Detections


@pytest.fixture(scope="module")
def detector() -> SsdliteDetector:
    return SsdliteDetector()


def assert_same(a: Detections, b: Detections) -> None:
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-5)
    np.testing.assert_array_equal(a.class_id, b.class_id)


def test_finds_the_pedestrians_of_frame_100(detector: SsdliteDetector, frames: dict[int, np.ndarray]) -> None:
    # Frame 100 shows about 7 people; at 0.4 the model finds the 4 clearest (measured), ~60% recall.
    [found] = detector.detect([frames[100]])
    assert 3 <= len(found) <= 7
    assert found.xyxy.dtype == np.float32 and found.xyxy.shape == (len(found), 4)
    assert (found.confidence >= 0.4).all() and (found.class_id == 0).all()
    assert found.class_name(0) == "person"
    # Pixel boxes of the 768x576 frame, shaped like people seen from above at this distance.
    x1, y1, x2, y2 = found.xyxy.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= 768).all() and (y2 <= 576).all()
    assert ((y2 - y1) > (x2 - x1)).all() and ((y2 - y1) > 40).all() and ((y2 - y1) < 200).all()


def test_batch_equals_single_calls(detector: SsdliteDetector, frames: dict[int, np.ndarray]) -> None:
    images = list(frames.values())
    batched = detector.detect(images)
    assert len(batched) == len(images)
    for image, result in zip(images, batched, strict=True):
        assert_same(result, detector.detect([image])[0])


def test_cameras_of_different_sizes_share_a_batch(detector: SsdliteDetector, frames: dict[int, np.ndarray]) -> None:
    small = cv2.resize(frames[400], (384, 288), interpolation=cv2.INTER_AREA)
    full, half = detector.detect([frames[100], small])
    assert_same(full, detector.detect([frames[100]])[0])
    assert_same(half, detector.detect([small])[0])
    assert len(half) > 0 and (half.xyxy[:, [0, 2]] <= 384).all() and (half.xyxy[:, [1, 3]] <= 288).all()


def test_pre_resize_matches_the_graphs_own_resize(detector: SsdliteDetector, frames: dict[int, np.ndarray]) -> None:
    # Feeding full frames lets the graph resize them itself: the reference for what detect() must reproduce.
    session = ort.InferenceSession(str(MODEL_PATH), providers=["CPUExecutionProvider"])
    for image in frames.values():
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        _, scores, boxes, _ = session.run(None, {"image_tensor:0": rgb[None]})
        keep = scores[0] >= 0.4
        expected = boxes[0][keep][:, [1, 0, 3, 2]] * np.array([768, 576, 768, 576], np.float32)
        [got] = detector.detect([image])
        assert len(got) == keep.sum()
        np.testing.assert_allclose(np.sort(got.xyxy, axis=0), np.sort(expected, axis=0), atol=1.0)


def test_load_detector_ssdlite(frames: dict[int, np.ndarray]) -> None:
    options = {"weights": None, "device": "auto", "imgsz": 640}
    detector = load_detector("ssdlite", classes=["person"], confidence=0.9, **options)
    assert isinstance(detector, SsdliteDetector) and detector.class_names == {0: "person"}
    assert (detector.detect([frames[100]])[0].confidence >= 0.9).all()
    with pytest.raises(DetectorError, match="only 'person'"):
        load_detector("ssdlite", classes=["person", "car"], confidence=0.4, **options)
    with pytest.raises(ConfigError, match="ssdlite, ultralytics"):
        load_detector("nope", classes=["person"], confidence=0.4, **options)


def test_ssdlite_never_imports_ultralytics() -> None:
    # ultralytics + torch cost seconds to import and are an optional extra.
    code = (
        "import sys; from realtime_worker.detect import load_detector;"
        "load_detector('ssdlite', weights=None, device='auto', classes=['person'], confidence=0.4, imgsz=640);"
        "assert not {'ultralytics', 'torch'} & set(sys.modules), 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])

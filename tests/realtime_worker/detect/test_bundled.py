"""What both detectors bundled as .onnx files (SSDLite, NanoDet) promise alike."""

from pathlib import Path

import numpy as np
import pytest

from camcount.errors import DetectorError
from realtime_worker.detect.nanodet import NanodetDetector
from realtime_worker.detect.ssdlite import SsdliteDetector

BUNDLED = [(SsdliteDetector, "convert_ssdlite_to_onnx"), (NanodetDetector, "convert_nanodet_to_onnx")]


@pytest.mark.parametrize("detector_class", [cls for cls, _ in BUNDLED])
def test_empty_inputs(detector_class: type) -> None:
    detector = detector_class(threads=1)
    assert detector.detect([]) == []
    [nothing] = detector.detect([np.full((240, 320, 3), 127, np.uint8)])
    assert len(nothing) == 0 and nothing.xyxy.shape == (0, 4) and nothing.class_id.dtype == np.int32


@pytest.mark.parametrize("detector_class, script", BUNDLED)
def test_unloadable_model_is_a_detector_error_naming_its_rebuild(detector_class: type, script: str,
                                                                 tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match=script):
        detector_class(model_path=tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(DetectorError, match=r"junk\.onnx"):
        detector_class(model_path=tmp_path / "junk.onnx")

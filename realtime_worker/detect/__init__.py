"""Detection stage: frames of many cameras in, one `Detections` per frame out.

Backends: "ssdlite" (bundled, offline, CPU-friendly, people only) and "ultralytics" (any YOLO
weights, GPU when available; needs the `yolo` extra). Each is imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from camcount.errors import ConfigError, DetectorError
from realtime_worker.detect.base import Detector

BACKENDS = ("ssdlite", "ultralytics", "motion")
# Backends that learn from the frames they see (a background model): one instance per camera,
# fed only that camera's frames in order, so they cannot be batched across cameras.
PER_CAMERA_BACKENDS = frozenset({"motion"})

__all__ = ["BACKENDS", "PER_CAMERA_BACKENDS", "Detector", "load_detector"]


def load_detector(
    backend: str,
    *,
    weights: str | None,
    device: str,
    classes: Sequence[str],
    confidence: float,
    imgsz: int,
    class_aliases: Mapping[str, str] | None = None,
) -> Detector:
    """Build the configured detector.

    ssdlite: `weights` overrides the bundled model; it always detects only "person", and `device`,
    `imgsz` and `class_aliases` do not apply (onnxruntime picks CUDA itself, the graph is 300x300).
    """
    if backend == "ssdlite":
        from realtime_worker.detect.ssdlite import SsdliteDetector

        if set(classes) - {"person"}:
            raise DetectorError(
                f"the ssdlite backend detects only 'person', not {sorted(set(classes))}: "
                "fix detector.classes or use detector.backend: ultralytics"
            )
        return SsdliteDetector(confidence=confidence, model_path=Path(weights) if weights else None)
    if backend == "ultralytics":
        from realtime_worker.detect.yolo import YoloDetector

        return YoloDetector(
            weights=weights or "yolo11n.pt",
            device=device,
            classes=classes,
            confidence=confidence,
            imgsz=imgsz,
            class_aliases=class_aliases,
        )
    if backend == "motion":
        from realtime_worker.detect.motion import MotionDetector

        return MotionDetector()
    raise ConfigError(f"unknown detector.backend {backend!r}: use one of {', '.join(BACKENDS)}")

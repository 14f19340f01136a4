"""Detection stage: frames of many cameras in, one `Detections` per frame out.

Backends: "nanodet" (bundled, offline, people only: the default), "ssdlite" (bundled, offline,
people only: the earlier default, about as fast, fewer people found) and "ultralytics" (any YOLO
weights, GPU when available; needs the `yolo` extra). Each is imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from camcount.errors import ConfigError, DetectorError
from realtime_worker.detect.base import Detector
from realtime_worker.detect.tiling import DetectorScale

BACKENDS = ("ssdlite", "ultralytics", "motion", "nanodet")
# Backends that learn from the frames they see (a background model): one instance per camera,
# fed only that camera's frames in order, so they cannot be batched across cameras.
PER_CAMERA_BACKENDS = frozenset({"motion"})

__all__ = ["BACKENDS", "PER_CAMERA_BACKENDS", "Detector", "DetectorScale", "detector_scale", "load_detector"]


def detector_scale(backend: str, imgsz: int) -> DetectorScale:
    """What tiling needs of a backend, known before it is loaded (check-config needs it too).

    ssdlite: its graph resizes every image to 300x300 (`ssdlite.INPUT_SIZE`) and finds about 9
    in 10 people 60 px or taller there, half or fewer below 50 px (bench/accuracy_teacher.py).
    One inference costs ~12 ms of CPU, so `auto` may cut 2 tiles.
    nanodet: each image in its own shape, in steps of 32 px (`nanodet.STRIDE`), with at most the
    pixels of a 416x416 square (`area_letterbox`); on the street clip it found as many of the
    teacher's people from 50 px of its input as of taller ones, about half below. One inference
    costs ~24 ms of CPU, as much as 2 of SSDLite's: `auto` crops, never tiles.
    ultralytics: letterboxed to `imgsz`; YOLO's stride-8 head finds people from about 24 px.
    motion: background subtraction at the frame's own resolution; tiles would not help.
    """
    if backend == "ssdlite":
        return DetectorScale(input_size=300, min_person_px=60, max_auto_tiles=2)
    if backend == "nanodet":
        return DetectorScale(input_size=416, min_person_px=50, max_auto_tiles=1, area_stride=32)
    if backend == "ultralytics":
        return DetectorScale(input_size=imgsz, min_person_px=24, max_auto_tiles=2)
    return DetectorScale(input_size=None, min_person_px=0, max_auto_tiles=1)


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

    ssdlite, nanodet: `weights` overrides the bundled model; they always detect only "person", and
    `device`, `imgsz` and `class_aliases` do not apply (onnxruntime picks CUDA itself, the input
    size is the graph's).
    """
    if backend in ("ssdlite", "nanodet") and set(classes) - {"person"}:
        raise DetectorError(
            f"the {backend} backend detects only 'person', not {sorted(set(classes))}: "
            "fix detector.classes or use detector.backend: ultralytics"
        )
    if backend == "ssdlite":
        from realtime_worker.detect.ssdlite import SsdliteDetector

        return SsdliteDetector(confidence=confidence, model_path=Path(weights) if weights else None)
    if backend == "nanodet":
        from realtime_worker.detect.nanodet import NanodetDetector

        return NanodetDetector(confidence=confidence, model_path=Path(weights) if weights else None)
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

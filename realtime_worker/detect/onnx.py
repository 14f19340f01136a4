"""onnxruntime sessions for the detectors bundled as .onnx files (SSDLite, NanoDet)."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from camcount.errors import DetectorError


def bundled_session(path: Path, threads: int | None, model: str, script: str) -> ort.InferenceSession:
    """A session on CUDA when this onnxruntime build has it, else the CPU (`threads` intra-op
    threads, or onnxruntime's default). A missing or broken file is one DetectorError naming
    `model` and the `script` that rebuilds it."""
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # onnxruntime errors (NoSuchFile, InvalidProtobuf...) subclass Exception
        raise DetectorError(
            f"cannot load the {model} model {path}: {exc}; reinstall camcount, or rebuild the file with {script}"
        ) from exc

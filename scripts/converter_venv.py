"""What the scripts that convert a bundled detector to ONNX share: a throwaway venv for the
converter (TensorFlow never enters the project's venv), and commands echoed as they run so the
log shows exactly what produced the committed file."""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np


def run(*cmd: str | Path, cwd: Path | None = None) -> None:
    """Echo then run a command."""
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run(list(map(str, cmd)), check=True, cwd=cwd)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def converter_venv(description: str, name: str, pins: list[str]) -> Iterator[Path]:
    """The python of a venv under the temporary directory (`--venv`) with `pins` installed,
    reused when a previous run kept it, removed afterwards unless `--keep-venv`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / name)
    parser.add_argument("--keep-venv", action="store_true", help="keep the throwaway venv for reruns")
    args = parser.parse_args()
    py = args.venv / "bin" / "python"
    if not py.exists():
        run(sys.executable, "-m", "venv", args.venv)
    run(py, "-m", "pip", "install", "-q", *pins)
    yield py
    if not args.keep_venv:
        shutil.rmtree(args.venv)


def check_frames(clip: Path, indices: tuple[int, ...]) -> list[np.ndarray]:
    """The BGR frames `indices` of `clip`, on which the original and the ONNX model must agree."""
    cap = cv2.VideoCapture(str(clip))
    frames = []
    for index in indices:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        assert ok, f"cannot read frame {index} of {clip} (run scripts/fetch_sample_video.sh)"
        frames.append(bgr)
    return frames

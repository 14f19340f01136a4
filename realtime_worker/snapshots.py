"""The latest annotated frame of each camera, for the live page: `$CAMCOUNT_HOME/snapshots/<camera>.jpg`.

Written every `health.snapshot_interval_s` (the first at a camera's first frame). Only the due
frame is drawn and encoded; the file is replaced atomically (temp file + os.replace), so a reader
never sees half a JPEG. A failed write is logged and skipped: snapshots never stop counting.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import cv2

from realtime_worker.config import CameraConfig
from realtime_worker.detect.tiling import TilePlan
from realtime_worker.draw import annotate
from realtime_worker.types import Detections, Frame

log = logging.getLogger(__name__)


class SnapshotWriter:
    def __init__(self, directory: Path, interval_s: float, *, quality: int = 80) -> None:
        self.directory = directory
        self.interval_s = interval_s
        self.quality = quality
        self._due: dict[str, float] = {}  # camera -> monotonic time of its next snapshot

    def maybe_write(self, camera: CameraConfig, frame: Frame, detections: Detections, plan: TilePlan) -> bool:
        now = time.monotonic()
        if now < self._due.get(camera.id, 0.0):
            return False
        self._due[camera.id] = now + self.interval_s
        try:
            self.write(camera.id, annotate(frame.image, camera, detections, plan))
        except (OSError, cv2.error) as exc:
            log.warning("snapshot of camera %s not written: %s", camera.id, exc)
            return False
        return True

    def write(self, camera_id: str, image) -> Path:
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError("JPEG encoding failed")
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{camera_id}.jpg"
        fd, temp = tempfile.mkstemp(prefix=f".{camera_id}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(jpeg.tobytes())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target

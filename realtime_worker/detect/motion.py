"""Moving-blob detector for fixed cameras: background subtraction, no model weights, CPU only.

Every moving blob big enough is reported as a "person": right for a camera that only sees
people (a corridor, a door, a plaza), and a backend that needs no model download or GPU.
Someone who stands still fades into the background after about `history` / 10 frames (MOG2
keeps a colour as foreground until it explains 10% of the pixel's history): ~5 s at 10 fps
with the default 500. Use it for lines and short dwells, not for people who wait long.

State: the background model belongs to ONE camera. Build one `MotionDetector` per camera and
give `detect` that camera's frames only, oldest first (a batch is treated as consecutive
frames); frames of two cameras through one instance would corrupt both backgrounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from realtime_worker.types import Detections

_FOREGROUND = 255  # MOG2 marks shadows 127: a shadow is not a person


class MotionDetector:
    """OpenCV MOG2 background subtraction -> morphology -> connected components -> boxes."""

    def __init__(
        self,
        min_area: int = 400,
        history: int = 500,
        var_threshold: float = 36.0,
        close_px: int = 7,
    ) -> None:
        """`min_area`: smallest blob (px) that is a person. `history`: frames the background
        model learns over. `var_threshold`: squared Mahalanobis distance that makes a pixel
        foreground; 36 (6 sigma) rather than OpenCV's 16 because compressed video bleeds colour
        1-2 px past strong edges (chroma subsampling), which 4 sigma reports as part of the
        person and makes the feet a few px too low. `close_px`: holes this small inside one
        person's mask are filled; bigger gaps separate two people."""
        self.class_names = {0: "person"}
        self.min_area = min_area
        # Fixed from the second frame on: MOG2's default starts at 1/2 and ramps down, which
        # absorbs anyone walking through the first few hundred frames within a few frames.
        self._learning_rate = 1.0 / history
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=var_threshold, detectShadows=True
        )
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_px, close_px))

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One `Detections` per image; the images are consecutive frames of this camera."""
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: np.ndarray) -> Detections:
        # Foreground = pixels the background model does not explain (shadows excluded).
        mask = self._subtractor.apply(image, learningRate=self._learning_rate) == _FOREGROUND
        mask = mask.astype(np.uint8)
        # Opening removes sensor/compression speckle; closing fills holes inside a person.
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        # Each connected blob of at least min_area pixels is one detection.
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        stats = stats[1:]  # label 0 is the background
        stats = stats[stats[:, cv2.CC_STAT_AREA] >= self.min_area]
        x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
        w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
        # Confidence grows with evidence (blob area) and saturates at twice the minimum, so a
        # blob barely above the noise floor cannot start a track (ByteTrack's 0.6) on its own.
        confidence = np.minimum(1.0, stats[:, cv2.CC_STAT_AREA] / (2.0 * self.min_area))
        return Detections(
            xyxy=np.stack([x, y, x + w, y + h], axis=1).astype(np.float32),
            confidence=confidence.astype(np.float32),
            class_id=np.zeros(len(stats), np.int32),
            class_names=dict(self.class_names),
        )

"""The detector interface: all the runner needs from a detection backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from realtime_worker.types import Detections


class Detector(Protocol):
    """Finds objects of the configured classes in BGR frames.

    Batched by contract: the runner hands over the latest frame of many cameras in one call, because
    one forward pass over N images costs far less than N passes on a GPU.
    """

    class_names: dict[int, str]  # class_id -> name reported in Detections (configured classes only)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """One `Detections` per HxWx3 uint8 BGR image, in order.

        Boxes are pixel xyxy of that image; only the configured classes at or above the confidence
        threshold are kept.
        """
        ...

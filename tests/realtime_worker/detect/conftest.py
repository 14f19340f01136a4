"""Real frames of the sample clip, shared by the detector tests."""

from pathlib import Path

import cv2
import numpy as np
import pytest

FRAMES = (0, 100, 400, 700)  # an empty-ish plaza to a busy one


@pytest.fixture(scope="package")
def frames(sample_video: Path) -> dict[int, np.ndarray]:
    """The BGR frames FRAMES of data/vtest.avi, by index."""
    cap = cv2.VideoCapture(str(sample_video))
    out = {}
    for index in FRAMES:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = cap.read()
        assert ok, index
        out[index] = image
    return out

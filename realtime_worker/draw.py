"""Draw lines, zones, the detection region with its tiles, and detections on a frame, for
`camcount worker snapshot`.

Kept apart from counting on purpose: counting never draws.
"""

from __future__ import annotations

import cv2
import numpy as np

from realtime_worker.config import CameraConfig
from realtime_worker.detect.tiling import TilePlan
from realtime_worker.types import Detections

LINE_COLOUR = (0, 0, 255)
ZONE_COLOUR = (255, 160, 0)
BOX_COLOUR = (0, 220, 0)
REGION_COLOUR = (0, 200, 255)
TILE_COLOUR = (0, 120, 160)


def annotate(image: np.ndarray, camera: CameraConfig, detections: Detections, plan: TilePlan) -> np.ndarray:
    """A copy of `image` with the detection region and its tiles, the camera's geometry, side
    names and the detections drawn."""
    canvas = image.copy()
    if len(plan.tiles) > 1:
        for tile in plan.tiles:
            cv2.rectangle(canvas, (tile.x0, tile.y0), (tile.x1 - 1, tile.y1 - 1), TILE_COLOUR, 1)
    region = plan.region
    cv2.rectangle(canvas, (region.x0, region.y0), (region.x1 - 1, region.y1 - 1), REGION_COLOUR, 2)
    if plan.polygon is not None:
        cv2.polylines(canvas, [plan.polygon.astype(np.int32)], isClosed=True, color=REGION_COLOUR, thickness=2)
    _label(canvas, f"detection region, tiles {plan.grid}", np.array([region.x0, region.y1 - 2]))
    for zone in camera.zones:
        polygon = np.array(zone.polygon, np.int32)
        cv2.polylines(canvas, [polygon], isClosed=True, color=ZONE_COLOUR, thickness=2)
        _label(canvas, f"zone {zone.id}", polygon[0])
    for line in camera.lines:
        points = np.array(line.points, np.float32)
        cv2.polylines(canvas, [points.astype(np.int32)], isClosed=False, color=LINE_COLOUR, thickness=2)
        _label(canvas, f"line {line.id} (in: {line.in_side})", points[0])
        # Name each side at the first segment's midpoint, offset along its on-screen left normal.
        a, b = points[0], points[1]
        direction = (b - a) / np.linalg.norm(b - a)
        left_normal = np.array([direction[1], -direction[0]])
        middle = (a + b) / 2
        _label(canvas, line.sides["left"], middle + 25 * left_normal)
        _label(canvas, line.sides["right"], middle - 25 * left_normal)
    for i, box in enumerate(detections.xyxy.astype(int)):
        cv2.rectangle(canvas, tuple(box[:2]), tuple(box[2:]), BOX_COLOUR, 2)
        _label(canvas, f"{detections.class_name(i)} {detections.confidence[i]:.2f}", box[:2])
    return canvas


def _label(canvas: np.ndarray, text: str, at: np.ndarray) -> None:
    x, y = int(at[0]), int(at[1])
    cv2.putText(canvas, text, (x + 3, y - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, (x + 3, y - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)

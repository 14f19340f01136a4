"""ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box",
ECCV 2022), in numpy + scipy.

It follows the reference `BYTETracker.update` (github.com/ifzhang/ByteTrack,
yolox/tracker/byte_tracker.py): a constant-velocity Kalman filter on (cx, cy, aspect, h) with
the reference's noise model, IoU costs fused with the detection score, and two associations:
high-score boxes first, then low-score boxes (people partly hidden score low) to the tracks the
first left unmatched. Deliberate differences:

* All state lives on the instance (tracks, frame counter, id counter), one tracker per camera:
  ids of two cameras cannot interleave, unlike the class-level id counter shared by every
  tracker in ultralytics#13107.
* A track gets its id when it is confirmed (`min_hits` consecutive matches; at once on the
  first frame, like the reference), not when born: ids are 1, 2, 3... with no gaps left by
  one-frame false positives.
* The output rows are the matched detections (box, score, class as detected) with
  `tracker_id`, not the Kalman estimate: counts are made on what was seen, and the filter's
  start-up lag (it starts at zero velocity) never shifts a crossing.
* Scores split at `>=` thresholds (the reference's `>` leaves a score equal to the high
  threshold in neither set).
* The lost-track buffer is in seconds of capture time, not frames: the same setting keeps a
  lost track equally long at 10 or 30 fps, and across frames a live camera dropped. A track
  kept too long is the one a passer-by inherits (docs/benchmarks.md, TUD-Campus).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy.optimize import linear_sum_assignment

from realtime_worker.types import Detections

# Association gates of the reference that are not part of its arguments (as IoU cost = 1 - IoU).
_LOW_MAX_COST = 0.5  # second association: low boxes need IoU >= 0.5 to a tracked box
_UNCONFIRMED_MAX_COST = 0.7  # a track born last frame needs IoU * score >= 0.3
_DUPLICATE_MAX_COST = 0.15  # a tracked and a lost track at IoU > 0.85 are the same person
_TIME_EPS_S = 1e-6  # sums of frame intervals are not exact in floating point


class _State(Enum):
    TRACKED = "tracked"  # matched this frame
    LOST = "lost"  # unmatched, coasting on its Kalman prediction until the buffer runs out


@dataclass(slots=True)
class _Track:
    mean: np.ndarray  # (8,) cx, cy, aspect, h and their velocities per frame
    covariance: np.ndarray  # (8, 8)
    start_frame: int
    end_frame: int  # last frame it was matched
    end_time: float  # capture time of that frame
    det_index: int  # row of its detection in the last matched frame's input
    hits: int = 1  # consecutive matches while unconfirmed
    state: _State = _State.TRACKED
    track_id: int = 0  # 0 until confirmed


class _KalmanFilter:
    """Constant-velocity Kalman filter on (cx, cy, aspect, h), batched over tracks.

    Noise standard deviations scale with the box height, as in the reference: a near (tall)
    person moves more pixels per frame and its box edges are noisier in pixels.
    """

    _STD_POSITION = 1.0 / 20
    _STD_VELOCITY = 1.0 / 160

    def __init__(self) -> None:
        self._motion = np.eye(8)
        self._motion[:4, 4:] = np.eye(4)  # one frame per step

    def initiate(self, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Unknown velocity: a wide prior, so the first matches set it.
        pos, vel = 2 * self._STD_POSITION * xyah[3], 10 * self._STD_VELOCITY * xyah[3]
        std = np.array([pos, pos, 1e-2, pos, vel, vel, 1e-5, vel])
        return np.r_[xyah, np.zeros(4)], np.diag(std**2)

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = mean[:, 3]
        pos, vel = self._STD_POSITION * h, self._STD_VELOCITY * h
        std = np.stack([pos, pos, np.full_like(h, 1e-2), pos, vel, vel, np.full_like(h, 1e-5), vel], axis=1)
        motion_cov = std[:, :, None] ** 2 * np.eye(8)
        mean = mean @ self._motion.T
        covariance = self._motion @ covariance @ self._motion.T + motion_cov
        return mean, covariance

    def update(self, mean: np.ndarray, covariance: np.ndarray, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = mean[:, 3]
        pos = self._STD_POSITION * h
        std = np.stack([pos, pos, np.full_like(h, 1e-1), pos], axis=1)
        innovation_cov = covariance[:, :4, :4] + std[:, :, None] ** 2 * np.eye(4)
        # gain K = P H^T S^-1, with H selecting the first four state variables
        gain = np.linalg.solve(innovation_cov, covariance[:, :4, :]).transpose(0, 2, 1)
        mean = mean + (gain @ (xyah - mean[:, :4])[:, :, None])[:, :, 0]
        covariance = covariance - gain @ innovation_cov @ gain.transpose(0, 2, 1)
        return mean, covariance


class ByteTracker:
    """ByteTrack for one camera: feed every frame's detections in order to `update`."""

    def __init__(
        self,
        *,
        high_threshold: float = 0.5,
        low_threshold: float = 0.1,
        new_track_threshold: float = 0.6,
        match_iou: float = 0.2,
        lost_track_buffer_s: float = 0.5,
        min_hits: int = 2,
        frame_interval_s: float = 0.1,
    ) -> None:
        """Thresholds are detection scores; `match_iou` is the first association's minimum
        IoU x score (the reference's match_thresh 0.8 = 1 - 0.2); `lost_track_buffer_s` is how
        long a lost track may be found again; `min_hits` is how many consecutive frames a new
        track must be matched on before it gets an id (2 in the reference);
        `frame_interval_s` is the time between frames given to `update` without a time."""
        if not 0 <= low_threshold <= high_threshold:
            raise ValueError("need 0 <= low_threshold <= high_threshold")
        if min_hits < 1:
            raise ValueError("min_hits must be >= 1")
        self.high_threshold = high_threshold
        self.low_threshold = low_threshold
        self.new_track_threshold = new_track_threshold
        self.match_iou = match_iou
        self.lost_track_buffer_s = lost_track_buffer_s
        self.min_hits = min_hits
        self.frame_interval_s = frame_interval_s
        self._kalman = _KalmanFilter()
        self._tracks: list[_Track] = []
        self._frame = 0
        self._now = 0.0
        self._last_id = 0

    def update(self, detections: Detections, at: float | None = None) -> Detections:
        """One frame's detections, captured at `at` (seconds; default one `frame_interval_s`
        after the previous frame) -> the boxes of the confirmed tracks seen in it, with ids."""
        self._frame += 1
        self._now = at if at is not None else self._now + self.frame_interval_s
        boxes = detections.xyxy.astype(np.float64)
        scores = detections.confidence.astype(np.float64)

        # Step 1: split boxes by score. Below low_threshold is noise; degenerate boxes have no aspect.
        usable = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) & (scores >= self.low_threshold)
        high = np.flatnonzero(usable & (scores >= self.high_threshold))
        low = np.flatnonzero(usable & (scores < self.high_threshold))

        # Step 2: first association: all confirmed tracks, tracked and lost, predicted to this
        # frame, against the high boxes; IoU is weighted by score so confident boxes win. A lost
        # track unseen for longer than the buffer is gone before it can be matched.
        self._tracks = [t for t in self._tracks if self._now - t.end_time <= self.lost_track_buffer_s + _TIME_EPS_S]
        self._predict()
        pool = [t for t in self._tracks if t.track_id]
        pool_left, high_left = self._match(pool, boxes, high, scores, 1 - self.match_iou, fuse_score=True)

        # Step 3: second association: tracks still tracked but unmatched against the low boxes,
        # by plain IoU; the ones still unmatched are lost.
        tracked_left = [t for t in pool_left if t.state is _State.TRACKED]
        tracked_left, _ = self._match(tracked_left, boxes, low, scores, _LOW_MAX_COST, fuse_score=False)
        for track in tracked_left:
            track.state = _State.LOST

        # Step 4: unconfirmed tracks (born recently) against the high boxes left; an unconfirmed
        # track that misses a frame was a false positive and is dropped in step 6.
        unconfirmed = [t for t in self._tracks if not t.track_id]
        _, high_left = self._match(unconfirmed, boxes, high_left, scores, _UNCONFIRMED_MAX_COST, fuse_score=True)

        # Step 5: a new track for every confident high box that no track claimed.
        for i in high_left[scores[high_left] >= self.new_track_threshold]:
            mean, covariance = self._kalman.initiate(_xyah(boxes[i]))
            track = _Track(mean, covariance, start_frame=self._frame, end_frame=self._frame, end_time=self._now,
                           det_index=int(i))
            if self._frame == 1 or self.min_hits == 1:
                track.track_id = self._next_id()
            self._tracks.append(track)

        # Step 6: drop unconfirmed tracks that missed this frame, and duplicates.
        self._tracks = [t for t in self._tracks if t.track_id or t.end_frame == self._frame]
        self._remove_duplicates()

        shown = sorted((t for t in self._tracks if t.track_id and t.state is _State.TRACKED), key=lambda t: t.det_index)
        out = detections[np.array([t.det_index for t in shown], dtype=np.intp)]
        out.tracker_id = np.array([t.track_id for t in shown], dtype=np.int64)
        return out

    def _predict(self) -> None:
        """Move every track one frame ahead on its Kalman state."""
        if not self._tracks:
            return
        mean = np.stack([t.mean for t in self._tracks])
        covariance = np.stack([t.covariance for t in self._tracks])
        # As in the reference, a lost box keeps its size while it coasts.
        mean[[t.state is _State.LOST for t in self._tracks], 7] = 0
        mean, covariance = self._kalman.predict(mean, covariance)
        for track, m, c in zip(self._tracks, mean, covariance, strict=True):
            track.mean, track.covariance = m, c

    def _match(
        self,
        tracks: list[_Track],
        boxes: np.ndarray,
        candidates: np.ndarray,
        scores: np.ndarray,
        max_cost: float,
        *,
        fuse_score: bool,
    ) -> tuple[list[_Track], np.ndarray]:
        """Hungarian matching of `tracks` to the boxes `candidates` (row indices) on IoU cost;
        updates the matched tracks, returns the unmatched tracks and candidates."""
        if not tracks or not len(candidates):
            return tracks, candidates
        similarity = iou(np.stack([_xyxy(t.mean) for t in tracks]), boxes[candidates])
        if fuse_score:
            similarity = similarity * scores[candidates]
        cost = 1.0 - similarity
        # Clipping makes a pair above max_cost worth exactly as much as leaving both unmatched,
        # which is what the reference's lapjv cost_limit does.
        rows, cols = linear_sum_assignment(np.minimum(cost, max_cost))
        keep = cost[rows, cols] <= max_cost
        rows, cols = rows[keep], cols[keep]

        matched = [tracks[r] for r in rows]
        if matched:
            mean, covariance = self._kalman.update(
                np.stack([t.mean for t in matched]),
                np.stack([t.covariance for t in matched]),
                np.stack([_xyah(boxes[candidates[c]]) for c in cols]),
            )
            for track, m, c, col in zip(matched, mean, covariance, cols, strict=True):
                track.mean, track.covariance = m, c
                track.end_frame, track.end_time, track.det_index = self._frame, self._now, int(candidates[col])
                track.state = _State.TRACKED
                track.hits += 1
                if not track.track_id and track.hits >= self.min_hits:
                    track.track_id = self._next_id()
        unmatched_rows = np.setdiff1d(np.arange(len(tracks)), rows)
        return [tracks[r] for r in unmatched_rows], np.delete(candidates, cols)

    def _remove_duplicates(self) -> None:
        """A tracked and a lost track on the same box: keep the one with the longer history."""
        tracked = [t for t in self._tracks if t.state is _State.TRACKED]
        lost = [t for t in self._tracks if t.state is _State.LOST]
        if not tracked or not lost:
            return
        overlap = iou(np.stack([_xyxy(t.mean) for t in tracked]), np.stack([_xyxy(t.mean) for t in lost]))
        duplicates = set()
        for p, q in zip(*np.nonzero(1.0 - overlap < _DUPLICATE_MAX_COST), strict=True):
            a, b = tracked[p], lost[q]
            duplicates.add(id(b) if a.end_frame - a.start_frame > b.end_frame - b.start_frame else id(a))
        self._tracks = [t for t in self._tracks if id(t) not in duplicates]

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id


def _xyah(xyxy: np.ndarray) -> np.ndarray:
    w, h = xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]
    return np.array([xyxy[0] + w / 2, xyxy[1] + h / 2, w / h, h])


def _xyxy(mean: np.ndarray) -> np.ndarray:
    cx, cy, aspect, h = mean[:4]
    w = aspect * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of xyxy boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)

"""ByteTracker: ids, the two associations, occlusion, per-instance state, MOTA on real ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realtime_worker.track import ByteTracker
from realtime_worker.types import Detections


def dets(*boxes: tuple[float, float, float, float], conf: float | list[float] = 0.9, cls: int = 0) -> Detections:
    n = len(boxes)
    return Detections(
        xyxy=np.array(boxes, np.float32).reshape(n, 4),
        confidence=np.broadcast_to(np.asarray(conf, np.float32), (n,)).copy(),
        class_id=np.full(n, cls, np.int32),
        class_names={0: "person", 2: "car"},
    )


def person(x: float, feet_y: float, w: float = 30, h: float = 80) -> tuple[float, float, float, float]:
    """Box of a person whose feet are at (x, feet_y)."""
    return (x - w / 2, feet_y - h, x + w / 2, feet_y)


def ids_by_x(tracks: Detections) -> list[int]:
    """Track ids ordered left to right on screen."""
    return [int(i) for i in tracks.tracker_id[np.argsort(tracks.xyxy[:, 0])]]


def test_ids_start_at_one_and_follow_each_person() -> None:
    tracker = ByteTracker()
    for k in range(20):
        tracks = tracker.update(dets(person(100 + 5 * k, 200), person(400 - 5 * k, 300)))
        assert ids_by_x(tracks) == [1, 2]


def test_output_rows_are_the_matched_detections_with_their_class() -> None:
    tracker = ByteTracker()
    for k in range(3):
        frame = dets(person(100 + 5 * k, 200), conf=0.8, cls=2)
        tracks = tracker.update(frame)
        np.testing.assert_array_equal(tracks.xyxy, frame.xyxy)
        assert tracks.class_name(0) == "car"
        assert tracks.confidence[0] == pytest.approx(0.8)


def test_empty_frame_gives_empty_tracks() -> None:
    tracks = ByteTracker().update(Detections.empty())
    assert len(tracks) == 0
    assert tracks.tracker_id is not None and tracks.tracker_id.shape == (0,)


def test_new_track_waits_for_min_hits_and_a_one_frame_blip_never_takes_an_id() -> None:
    tracker = ByteTracker(min_hits=2)
    a = [person(100 + 4 * k, 200) for k in range(10)]
    assert list(tracker.update(dets(a[0])).tracker_id) == [1]  # first frame: confirmed at once
    assert list(tracker.update(dets(a[1], person(500, 400))).tracker_id) == [1]  # blip, born unconfirmed
    assert list(tracker.update(dets(a[2])).tracker_id) == [1]  # blip missed a frame: dropped
    assert list(tracker.update(dets(a[3], person(300, 450))).tracker_id) == [1]  # newcomer, unconfirmed
    tracks = tracker.update(dets(a[4], person(302, 450)))
    assert ids_by_x(tracks) == [1, 2]  # confirmed on its second frame, and no id was spent on the blip


def test_low_score_boxes_keep_a_track_but_never_start_one() -> None:
    tracker = ByteTracker()
    scores = [0.9] * 5 + [0.3] * 5 + [0.9] * 5
    for k, score in enumerate(scores):
        tracks = tracker.update(dets(person(100 + 5 * k, 200), person(500, 100 + 3 * k), conf=[score, 0.3]))
        # The partly hidden person (0.3) stays tracked (second association); the 0.3-only one never appears.
        assert list(tracks.tracker_id) == [1]


def test_occlusion_keeps_both_ids() -> None:
    """Two people cross at different depths; the far one is hidden (no box) for 5 frames while
    the boxes overlap heavily, then both reappear: each keeps its id (25 fps: 0.24 s unseen)."""
    tracker = ByteTracker(frame_interval_s=0.04)
    hidden_frames = 0
    for k in range(40):
        far_x, near_x = 100 + 8 * k, 420 - 8 * k
        far, near = person(far_x, 300, w=26, h=70), person(near_x, 320)
        hidden = abs(far_x - near_x) < 40
        hidden_frames += hidden
        tracks = tracker.update(dets(near) if hidden else dets(far, near))
        if hidden:
            assert list(tracks.tracker_id) == [2]
        else:
            by_id = dict(zip(tracks.tracker_id.tolist(), tracks.xyxy[:, 0].tolist(), strict=True))
            assert by_id == {1: pytest.approx(far[0]), 2: pytest.approx(near[0])}
    assert hidden_frames == 5


@pytest.mark.parametrize("fps", [4.0, 8.0, 32.0])
def test_a_lost_track_returns_within_the_buffer_in_seconds_at_any_frame_rate(fps: float) -> None:
    tracker = ByteTracker(lost_track_buffer_s=1.0)
    frames = iter(range(10_000))

    def at() -> float:
        return next(frames) / fps  # exact in binary for these rates

    for _ in range(3):
        tracker.update(dets(person(100, 200)), at())
    for _ in range(int(fps) - 1):  # last seen exactly 1 s before the next frame
        tracker.update(Detections.empty(), at())
    assert list(tracker.update(dets(person(100, 200)), at()).tracker_id) == [1]
    for _ in range(int(fps)):  # last seen 1 s + one frame before the next frame
        tracker.update(Detections.empty(), at())
    tracker.update(dets(person(100, 200)), at())
    assert list(tracker.update(dets(person(100, 200)), at()).tracker_id) == [2]


def test_frames_without_a_time_are_frame_interval_s_apart() -> None:
    tracker = ByteTracker(lost_track_buffer_s=0.5, frame_interval_s=0.125)
    tracker.update(dets(person(100, 200)))
    for _ in range(3):
        tracker.update(Detections.empty())
    assert list(tracker.update(dets(person(100, 200))).tracker_id) == [1]  # 0.5 s later: kept


def _camera(offset: float, people: int, frames: int) -> list[Detections]:
    """`people` walking right; each misses every 7th frame, so tracks also go lost and return."""
    return [
        dets(*(person(60 + 120 * p + 3 * k + offset, 150 + 60 * p) for p in range(people) if (k + p) % 7))
        for k in range(frames)
    ]


def test_two_instances_never_share_state() -> None:
    """ultralytics#13107: id counters shared between trackers made batched cameras trade ids."""
    cam_a, cam_b = _camera(0, people=3, frames=30), _camera(17, people=2, frames=30)

    def run(tracker: ByteTracker, frames: list[Detections]) -> list[list[int]]:
        return [ids_by_x(tracker.update(frame)) for frame in frames]

    alone_a, alone_b = run(ByteTracker(), cam_a), run(ByteTracker(), cam_b)
    tracker_a, tracker_b = ByteTracker(), ByteTracker()
    together_a, together_b = [], []
    for frame_a, frame_b in zip(cam_a, cam_b, strict=True):  # as a batching runner would
        together_a.append(ids_by_x(tracker_a.update(frame_a)))
        together_b.append(ids_by_x(tracker_b.update(frame_b)))
    assert together_a == alone_a and together_b == alone_b
    assert {i for ids in alone_a for i in ids} == {1, 2, 3}
    assert {i for ids in alone_b for i in ids} == {1, 2}


def test_mota_on_tud_campus_ground_truth(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOT15 TUD-Campus (71 frames, 8 people, heavy mutual occlusion): gt boxes with 2 px of
    seeded jitter and random scores as detections."""
    # motmetrics 1.4 calls np.asfarray, removed in numpy 2.
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=float: np.asarray(a, dtype=dtype), raising=False)
    import motmetrics as mm

    gt = np.loadtxt(Path(mm.__file__).parent / "data" / "TUD-Campus" / "gt.txt", delimiter=",")
    rng = np.random.default_rng(0)
    tracker = ByteTracker()
    accumulator = mm.MOTAccumulator(auto_id=True)
    for frame in range(1, int(gt[:, 0].max()) + 1):
        rows = gt[gt[:, 0] == frame]
        tlwh = rows[:, 2:6] + rng.normal(0, 2.0, (len(rows), 4))
        tracks = tracker.update(
            Detections(
                xyxy=np.c_[tlwh[:, :2], tlwh[:, :2] + tlwh[:, 2:]].astype(np.float32),
                confidence=rng.uniform(0.6, 1.0, len(rows)).astype(np.float32),
                class_id=np.zeros(len(rows), np.int32),
            )
        )
        hypotheses = np.c_[tracks.xyxy[:, :2], tracks.xyxy[:, 2:] - tracks.xyxy[:, :2]]
        accumulator.update(
            rows[:, 1].astype(int),
            tracks.tracker_id,
            mm.distances.iou_matrix(rows[:, 2:6], hypotheses, max_iou=0.5),
        )
    summary = mm.metrics.create().compute(accumulator, metrics=["mota", "num_switches"])
    assert summary["mota"].iloc[0] >= 0.9, summary

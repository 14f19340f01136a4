"""File sources: lossless, timestamped by position, paced or fast, and honest about damage."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.harness.streams import EventLog
from camcount.errors import SourceError
from realtime_worker.sources import CaptureThread, SourceEvent

VTEST_FRAMES = 795


def write_clip(path: Path, frames: int, fps: float) -> Path:
    """A small MJPEG AVI whose frame i is filled with grey level i, so frames can be told apart."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10 % 256, np.uint8))
    writer.release()
    return path


def test_file_is_lossless_with_position_timestamps(sample_video: Path) -> None:
    with CaptureThread("plaza", str(sample_video), start_at=1_000.0, buffer_size=2) as capture:
        time.sleep(0.3)  # a consumer that falls behind: the reader must wait, not drop
        stalled = capture.stats()
        frames = list(capture)

    assert stalled.queue_depth == 2 and stalled.frames_dropped == 0
    assert stalled.frames_captured <= 3  # two buffered, one waiting for room
    assert capture.error is None and capture.finished
    assert len(frames) == VTEST_FRAMES
    assert [f.index for f in frames] == list(range(VTEST_FRAMES))
    assert [f.captured_at for f in frames] == pytest.approx([1_000.0 + i / 10 for i in range(VTEST_FRAMES)])
    assert frames[0].image.shape == (576, 768, 3) and frames[0].image.dtype == np.uint8
    assert all(f.decode_ms is not None and f.received_at is not None for f in frames)
    stats = capture.stats()
    assert (stats.frames_captured, stats.frames_dropped, stats.frames_corrupt) == (VTEST_FRAMES, 0, 0)
    assert stats.bitrate_kbps and stats.bitrate_kbps > 0


def test_start_at_defaults_to_when_the_file_opens(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=3, fps=10)
    before = time.time()
    frames = list(CaptureThread("cam", str(clip)).start())
    assert before <= frames[0].captured_at <= time.time()
    assert frames[2].captured_at - frames[0].captured_at == pytest.approx(0.2)


def test_realtime_playback_takes_the_clip_duration(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=10, fps=20)  # frame 9 is due 0.45 s in

    def elapsed(realtime: bool) -> float:
        began = time.monotonic()
        assert len(list(CaptureThread("cam", str(clip), realtime=realtime).start())) == 10
        return time.monotonic() - began

    fast, paced = elapsed(False), elapsed(True)
    assert 0.45 <= paced < 5.0
    assert fast < paced


def test_a_looping_file_is_stamped_by_the_capture_clock_never_ahead_of_it(tmp_path: Path) -> None:
    """Played fast, a loop's position (index / fps) runs far ahead of the clock: 40 frames at
    10 fps are 4 s of footage, decoded in a fraction of that."""
    clip = write_clip(tmp_path / "clip.avi", frames=4, fps=10)
    began = time.time()
    with CaptureThread("cam", str(clip), loop=True, start_at=0.0) as capture:
        frames = [capture.get(timeout=5) for _ in range(40)]
    assert [f.index for f in frames] == list(range(40))
    assert frames[4].image.mean() == pytest.approx(frames[0].image.mean(), abs=2)  # frame 0 again
    stamps = [f.captured_at for f in frames]
    assert stamps == sorted(stamps) and began <= stamps[0]
    assert all(f.captured_at <= f.received_at for f in frames)


def test_a_directory_is_not_reported_as_a_missing_file(tmp_path: Path) -> None:
    capture = CaptureThread("lobby", str(tmp_path)).start()
    assert list(capture) == []
    assert str(capture.error) == f"camera lobby: cannot open file source {tmp_path}: it is a directory; " \
                                 "give the path of a video file in it"


@pytest.mark.parametrize("damage", ["cut_end", "cut_middle"])
def test_damaged_file_is_read_with_missing_frames_reported(
    damage: str, sample_video: Path, tmp_path: Path, events: EventLog
) -> None:
    data = sample_video.read_bytes()
    middle = len(data) // 2
    damaged = tmp_path / f"{damage}.avi"
    damaged.write_bytes(
        data[: len(data) * 7 // 10] if damage == "cut_end" else data[:middle] + data[middle + 300_000 :]
    )

    capture = CaptureThread("plaza", str(damaged), on_event=events).start()
    frames = list(capture)

    assert capture.error is None
    assert 0 < len(frames) < VTEST_FRAMES
    missing = VTEST_FRAMES - len(frames)
    assert capture.stats().frames_corrupt == missing
    [report] = [e for e in events.events if e.kind == SourceEvent.FRAME_CORRUPT]
    assert report.details["skipped"] == missing
    assert "plaza" in report.message and str(damaged) in report.message


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"not a video\n" * 100), ("camera.json", b'{"id": "lobby"}'), ("noise.bin", bytes(range(256)) * 64)],
)
def test_non_video_file_fails_with_one_line_source_error(
    name: str, content: bytes, tmp_path: Path, events: EventLog
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    capture = CaptureThread("lobby", str(path), on_event=events).start()
    assert capture.get(timeout=10) is None and capture.finished
    assert isinstance(capture.error, SourceError)
    message = str(capture.error)
    assert "lobby" in message and str(path) in message and "\n" not in message
    assert events.kinds() == [SourceEvent.FAILED]


@pytest.mark.parametrize("name", ["missing.avi", "empty.avi"])
def test_file_without_frames_fails(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    if name == "empty.avi":  # a valid container holding zero frames
        cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    capture = CaptureThread("lobby", str(path)).start()
    assert list(capture) == []
    assert isinstance(capture.error, SourceError)
    assert "lobby" in str(capture.error) and str(path) in str(capture.error)

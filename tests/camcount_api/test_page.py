"""The live page in a real browser (Debian chromium driven by Playwright): its tiles show the
database's numbers, and a new crossing appears within 2 s without a reload.

Set CAMCOUNT_UPDATE_SCREENSHOT=1 to refresh docs/live-page.png (the README's picture) from this run.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import psycopg
import pytest
from playwright.sync_api import Page, sync_playwright

from bench.harness.net import free_port
from bench.harness.worker_configs import camera as worker_camera
from bench.harness.worker_configs import write_config
from camcount.db.dsn import role_url
from camcount.db.roles import API_PASSWORD_ENV, API_ROLE
from camcount_api.config import ApiConfig
from realtime_worker.config import WorkerConfig
from realtime_worker.registry import register_cameras
from realtime_worker.sink.db import BatchWriter
from realtime_worker.sink.rows import crossing_row, health_row, occupancy_row
from realtime_worker.types import Direction, HealthSample, OccupancySample
from tests.camcount_api.conftest import Api, crossing, running_api, write_crossings
from tests.conftest import REPO, private_database, run_camcount

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = REPO / "docs" / "live-page.png"
TIMEZONE = "Europe/London"
DOOR = {"id": "door", "points": [[200, 420], [560, 420]], "sides": {"left": "street", "right": "shop"}, "in": "shop"}
LOBBY = {"id": "lobby", "polygon": [[150, 100], [620, 100], [620, 400], [150, 400]]}
PLAZA_LINES = [
    {"id": "centre", "points": [[384, 140], [384, 330]], "sides": {"left": "east", "right": "west"}, "in": "east"},
    {"id": "east-path", "points": [[590, 120], [560, 320]], "sides": {"left": "east", "right": "west"}, "in": "east"},
]
PLAZA_ZONES = [{"id": "footpath", "polygon": [[0, 180], [768, 150], [768, 330], [0, 330]]}]
CONFIG = WorkerConfig.model_validate({
    "sites": [{"id": "harbour", "name": "Harbour Street", "timezone": TIMEZONE}],
    "cameras": [
        {"id": "entrance", "name": "Shop entrance", "site": "harbour", "source": "rtsp://127.0.0.1:9/entrance",
         "lines": [DOOR], "zones": [LOBBY]},
        {"id": "plaza", "name": "Plaza", "site": "harbour", "source": "rtsp://127.0.0.1:9/plaza",
         "lines": PLAZA_LINES, "zones": PLAZA_ZONES},
        {"id": "loading-bay", "name": "Loading bay", "site": "harbour", "source": "rtsp://127.0.0.1:9/bay",
         "lines": [{**DOOR, "id": "gate"}]},
    ],
})
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian chromium missing: run scripts/install_system.sh")


def a_day_of_data(url: str, rng: random.Random) -> None:
    """Twelve hours of crossings, the last minutes of occupancy and health (one camera down for an
    hour), written through the worker's sink as the worker would."""
    now = time.time()
    rows = []
    for camera in CONFIG.cameras:
        for line in camera.lines:
            for hours_ago in range(12, 0, -1):
                busy = 6 + 10 * rng.random() * (1 + (hours_ago < 4))
                for _ in range(int(busy)):
                    at = now - hours_ago * 3600 + rng.random() * 3600
                    if at < now - 60 and (camera.id != "loading-bay" or hours_ago > 1):
                        direction = Direction.IN if rng.random() < 0.55 else Direction.OUT
                        rows.append(crossing_row(crossing(camera.id, at, line.id, direction), "page-test"))
        last_seen = now - (3600 if camera.id == "loading-bay" else 0)
        for second in range(int(last_seen) - 180, int(last_seen)):
            rows += [occupancy_row(OccupancySample(camera.id, zone.id, "person", second,
                                                   3 + int(2 * abs((second % 40) - 20) / 10)))
                     for zone in camera.zones]
        for at in range(int(last_seen) - 120, int(last_seen), 10):
            rows.append(health_row(HealthSample(
                camera_id=camera.id, at=float(at), input_fps=10.0, processed_fps=9.9, dropped_frames=0,
                decode_ms_p50=2.1, decode_ms_p95=3.4, inference_ms_p50=28.0, inference_ms_p95=35.0, e2e_ms_p50=310.0,
                e2e_ms_p95=520.0, bitrate_kbps=None, jitter_ms=4.0, reconnects=0, queue_depth=0, quality=0.98)))
    writer = BatchWriter(url)
    try:
        writer.write(rows)
    finally:
        writer.close()


def plaza_snapshot(directory: Path, sample_video: Path) -> None:
    """What the worker will write every few seconds: the frame with lines, zones and detections
    (here drawn by `camcount worker snapshot` on the sample clip, which films this plaza)."""
    config = write_config(directory / "plaza.yaml",
                          [worker_camera("plaza", sample_video, lines=PLAZA_LINES, zones=PLAZA_ZONES)])
    png = directory / "plaza.png"
    done = run_camcount("worker", "snapshot", "--config", str(config), "--camera", "plaza", "--out", str(png))
    assert done.returncode == 0, done.stderr
    cv2.imwrite(str(directory / "plaza.jpg"), cv2.imread(str(png)))


@pytest.fixture
def live_api(api_database_url: str, tmp_path: Path, sample_video: Path) -> Iterator[tuple[Api, str]]:
    with private_database("camcount_api_page") as url:
        with psycopg.connect(url) as conn:
            register_cameras(conn, CONFIG, CONFIG.cameras)
        a_day_of_data(url, random.Random(7))
        (tmp_path / "snapshots").mkdir()
        plaza_snapshot(tmp_path / "snapshots", sample_video)
        api_url = role_url(url, API_ROLE, os.environ[API_PASSWORD_ENV])
        config = ApiConfig(database_url=api_url, port=free_port(), snapshots_dir=tmp_path / "snapshots")
        with running_api(config) as api:
            yield api, url


def today_in_database(db: psycopg.Connection, camera_id: str) -> dict[tuple[str, str], int]:
    rows = db.execute(
        """SELECT e.line_id, e.direction, count(*) FROM raw.crossing_events e
           JOIN ops.cameras c USING (camera_id) JOIN ops.sites s USING (site_id)
           WHERE e.camera_id = %s AND e.time >= date_trunc('day', now() AT TIME ZONE s.timezone) AT TIME ZONE s.timezone
           GROUP BY 1, 2""", (camera_id,)).fetchall()
    return {(line, direction): n for line, direction, n in rows}


def people_now(db: psycopg.Connection, camera_id: str, zone_id: str) -> int:
    return db.execute("""SELECT sum(occupancy) FROM raw.zone_occupancy WHERE camera_id = %s AND zone_id = %s
                         GROUP BY time ORDER BY time DESC LIMIT 1""", (camera_id, zone_id)).fetchone()[0]


def cell(page: Page, camera_id: str, line_id: str, field: str) -> str:
    return page.locator(f'[data-camera="{camera_id}"] [data-line="{line_id}"] [data-field="{field}"]').inner_text()


def test_the_live_page_shows_the_database_and_updates_without_reload(
    live_api: tuple[Api, str], tmp_path: Path
) -> None:
    api, url = live_api
    problems: list[str] = []
    with sync_playwright() as playwright, psycopg.connect(url, autocommit=True) as db:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)  # CSP violations too
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(api.url + "/")
        page.wait_for_function("""() => {
            const ins = [...document.querySelectorAll('[data-field="in"]')];
            return ins.length === 4 && ins.every(c => c.textContent !== '–')
                && document.querySelectorAll('.spark canvas').length === 3
                && document.querySelectorAll('[data-field="now"]').length === 2;
        }""", timeout=15000)
        page.wait_for_selector('[data-camera="plaza"] .snapshot img:not([hidden])', timeout=10000)

        for camera in CONFIG.cameras:
            expected = today_in_database(db, camera.id)
            for line in camera.lines:
                shown = (int(cell(page, camera.id, line.id, "in")), int(cell(page, camera.id, line.id, "out")))
                assert shown == (expected.get((line.id, "in"), 0), expected.get((line.id, "out"), 0)), (camera, line)
            for zone in camera.zones:
                now = page.locator(f'[data-camera="{camera.id}"] [data-zone="{zone.id}"] [data-field="now"]')
                assert int(now.inner_text()) == people_now(db, camera.id, zone.id)
        status = {c.id: page.locator(f'[data-camera="{c.id}"] [data-field="status"]').inner_text()
                  for c in CONFIG.cameras}
        assert status == {"entrance": "online", "plaza": "online", "loading-bay": "offline"}
        assert page.locator('[data-camera="entrance"] .snapshot .placeholder').is_visible()
        assert page.evaluate("document.querySelector('[data-camera=\"plaza\"] .snapshot img').naturalWidth") == 768

        before = int(cell(page, "entrance", "door", "in"))
        page.evaluate("window.notReloaded = true")
        started = time.monotonic()
        write_crossings(url, [crossing("entrance", time.time(), "door", Direction.IN)])
        page.wait_for_function(  # a function, not an expression: the page's CSP forbids eval
            """expected => document.querySelector('[data-camera="entrance"] [data-line="door"] [data-field="in"]')
                .textContent === expected""", arg=str(before + 1), timeout=2000)
        assert time.monotonic() - started < 2.0
        assert page.evaluate("window.notReloaded === true")
        assert "door, in" in page.locator('[data-camera="entrance"] [data-field="last-crossing"]').inner_text()
        assert today_in_database(db, "entrance")[("door", "in")] == before + 1

        page.wait_for_timeout(1200)  # the highlight fades before the picture
        page.screenshot(path=str(tmp_path / "live-page.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing cut off
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        browser.close()
    assert problems == []
    if os.environ.get("CAMCOUNT_UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "live-page.png", SCREENSHOT)

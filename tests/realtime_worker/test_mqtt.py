"""MQTT from the worker against a real Mosquitto broker on a free localhost port, and the worker's snapshots."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.harness.net import free_port
from bench.harness.worker_configs import camera, db_totals, line_totals, write_config
from camcount.errors import ConfigError
from realtime_worker.config import load_config
from realtime_worker.runner import Worker

MOSQUITTO = Path("/usr/sbin/mosquitto")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Mosquitto on a free localhost port; yields the port."""
    if not MOSQUITTO.exists():
        pytest.skip("Debian mosquitto is not installed (scripts/install_system.sh installs it)")
    port = free_port()
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([str(MOSQUITTO), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"mosquitto did not start: {process.stderr.read().decode()[-500:]}")
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


class Subscriber:
    """A paho client subscribed to `camcount/#` before the worker starts."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict | str, bool]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}")
        self.client.on_connect = lambda c, *_: c.subscribe("camcount/#", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(5), "the test subscriber could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        text = message.payload.decode()
        try:
            payload: dict | str = json.loads(text)
        except json.JSONDecodeError:
            payload = text
        with self._lock:
            self.messages.append((message.topic, payload, bool(message.retain)))

    def crossings(self, camera_id: str) -> list[tuple[str, dict]]:
        with self._lock:
            return [(topic, payload) for topic, payload, _ in self.messages
                    if topic.startswith(f"camcount/test-site/{camera_id}/") and topic.endswith(("/in", "/out"))]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run(path: Path, database_url: str) -> Worker:
    worker = Worker(load_config(path), database_url=database_url, home=path.parent)
    worker.run(threading.Event())
    return worker


def test_every_crossing_in_the_database_arrives_on_mqtt(
    broker: int, database_url: str, db: psycopg.Connection, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    subscriber = Subscriber(broker)
    try:
        path = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip)],
                            mqtt={"host": "127.0.0.1", "port": broker, "client_id": f"w-{camera_id}"})
        worker = run(path, database_url)
        deadline = time.monotonic() + 5
        expected = sum(db_totals(db, camera_id).values())
        while len(subscriber.crossings(camera_id)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        received = subscriber.crossings(camera_id)
        with subscriber._lock:
            others = list(subscriber.messages)
    finally:
        subscriber.close()
    rows = db.execute("SELECT event_id::text, line_id, direction FROM raw.crossing_events WHERE camera_id = %s",
                      (camera_id,)).fetchall()
    assert expected > 0 and len(rows) == expected
    assert len(received) == len(rows), "same count on MQTT as in the database"
    assert sorted(payload["event_id"] for _, payload in received) == sorted(event for event, _, _ in rows)
    by_id = {event: (line, direction) for event, line, direction in rows}
    for topic, payload in received:
        line, direction = by_id[payload["event_id"]]
        assert topic == f"camcount/test-site/{camera_id}/{line}/{direction}"
        assert payload["time"].endswith("Z")
    occupancy = [(p, retain) for t, p, retain in others if t == f"camcount/test-site/{camera_id}/footpath/occupancy"]
    assert occupancy, "zone occupancy is published"
    values = [p["occupancy"] for p, _ in occupancy]
    assert all(a != b for a, b in itertools.pairwise(values)), "occupancy only on change"
    availability = [p for t, p, _ in others if t == f"camcount/w-{camera_id}/availability"]
    assert availability[0] == "online" and availability[-1] == "offline"
    assert worker.metrics.mqtt_published._value.get() >= len(rows) + len(occupancy)
    assert worker.metrics.mqtt_dropped._value.get() == 0
    # Retained: a late subscriber still gets the last occupancy and the availability.
    late = Subscriber(broker)
    try:
        time.sleep(0.5)
        with late._lock:
            retained = {t: p for t, p, r in late.messages if r}
    finally:
        late.close()
    assert retained[f"camcount/w-{camera_id}/availability"] == "offline"
    assert retained[f"camcount/test-site/{camera_id}/footpath/occupancy"]["occupancy"] == values[-1]


def test_broker_down_counts_as_without_mqtt_and_drops_are_counted(
    database_url: str, db: psycopg.Connection, short_clip: Path, tmp_path: Path
) -> None:
    plain, with_mqtt = f"plain-{time.time_ns()}", f"down-{time.time_ns()}"
    nothing_listens = free_port()
    baseline = run(write_config(tmp_path / "a.yaml", [camera(plain, short_clip)]), database_url)
    started = time.monotonic()
    worker = run(write_config(tmp_path / "b.yaml", [camera(with_mqtt, short_clip)],
                              mqtt={"host": "127.0.0.1", "port": nothing_listens}), database_url)
    assert time.monotonic() - started < 120
    assert line_totals(worker.summary, with_mqtt) == line_totals(baseline.summary, plain)
    assert db_totals(db, with_mqtt) == db_totals(db, plain) and sum(db_totals(db, plain).values()) > 0
    assert worker.metrics.mqtt_dropped._value.get() > 0
    assert worker.metrics.mqtt_published._value.get() == 0
    exposition = worker.metrics.registry.get_sample_value("camcount_mqtt_dropped_messages_total")
    assert exposition is not None and exposition > 0


def test_mqtt_password_only_from_the_environment(tmp_path: Path, short_clip: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cam = [camera("pw", short_clip)]
    with pytest.raises(ConfigError, match=r"mqtt\.password: give it as \$\{VAR\}"):
        load_config(write_config(tmp_path / "a.yaml", cam, mqtt={"host": "h", "password": "hunter2"}))
    monkeypatch.setenv("MQTT_PW", "s3cret")
    config = load_config(write_config(tmp_path / "b.yaml", cam,
                                      mqtt={"host": "h", "username": "u", "password": "${MQTT_PW}"}))
    assert config.mqtt is not None and config.mqtt.password == "s3cret" and config.mqtt.qos == 1
    assert config.mqtt.topic_prefix == "camcount"
    assert load_config(write_config(tmp_path / "c.yaml", cam)).mqtt is None


def test_snapshots_written_atomically_when_configured(
    database_url: str, short_clip: Path, tmp_path: Path, camera_id: str
) -> None:
    path = write_config(tmp_path / "w.yaml", [camera(camera_id, short_clip)],
                        health={"interval_s": 1.0, "metrics_port": None, "snapshot_interval_s": 0.05})
    run(path, database_url)
    snapshot = tmp_path / "snapshots" / f"{camera_id}.jpg"
    assert snapshot.read_bytes()[:2] == b"\xff\xd8", "a JPEG"
    import cv2

    image = cv2.imread(str(snapshot))
    assert image is not None and image.shape == (576, 768, 3)
    assert [p.name for p in snapshot.parent.iterdir()] == [snapshot.name], "no temp file left behind"
    # Off by default: no snapshots directory.
    other = tmp_path / "off"
    other.mkdir()
    run(write_config(other / "w.yaml", [camera(f"{camera_id}-off", short_clip)]), database_url)
    assert not (other / "snapshots").exists()

"""MQTT publishing beside the sink: optional, best effort; TimescaleDB stays the record.

- every crossing -> `<prefix>/<site>/<camera>/<line>/<in|out>`, JSON with the time and the same
  event id as its `raw.crossing_events` row;
- zone occupancy -> `<prefix>/<site>/<camera>/<zone>/occupancy`, retained, published on change only;
- the worker's availability -> `<prefix>/<worker>/availability`, `online`/`offline`, retained, and
  the broker's last will (`offline`) if the worker vanishes.

QoS 1. paho's loop thread connects, and reconnects with backoff. Publishing never waits on the
network: while the broker is unreachable a message is dropped at once and counted
(`camcount_mqtt_dropped_messages_total`); a message the broker acknowledged is counted in
`camcount_mqtt_published_messages_total`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from camcount.db.schema import RAW_TABLES
from realtime_worker.config import MqttConfig, WorkerConfig
from realtime_worker.metrics import WorkerMetrics
from realtime_worker.sink.rows import TableRow
from realtime_worker.types import OccupancySample

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[/+#\x00]")
MAX_QUEUED = 10_000  # messages waiting for the socket or an acknowledgement; beyond that, dropped


def topic_part(value: str) -> str:
    """One topic level: MQTT wildcards and separators in an id become `_`."""
    return _UNSAFE.sub("_", value) or "_"


def default_worker_name(camera_ids: Iterable[str]) -> str:
    """Stable across restarts (a retained availability topic must not multiply): host + cameras."""
    digest = hashlib.sha1(",".join(sorted(camera_ids)).encode()).hexdigest()[:8]
    return f"worker-{socket.gethostname()}-{digest}"


class MqttPublisher:
    def __init__(self, settings: MqttConfig, config: WorkerConfig, camera_ids: list[str],
                 metrics: WorkerMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.worker = topic_part(settings.client_id or default_worker_name(camera_ids))
        self.prefix = settings.topic_prefix.rstrip("/")
        self.sites = {camera.id: camera.site for camera in config.cameras}
        self.availability_topic = f"{self.prefix}/{self.worker}/availability"
        self._occupancy: dict[tuple[str, str], dict[str, int]] = {}  # (camera, zone) -> class -> occupancy
        self._published_occupancy: dict[tuple[str, str], dict[str, int]] = {}
        self._sent: deque[paho.MQTTMessageInfo] = deque()  # sent; pruned of the acknowledged now and then
        self._connected = threading.Event()
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id or self.worker,
                             clean_session=True)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        client.will_set(self.availability_topic, "offline", qos=settings.qos, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=int(settings.reconnect_max_s))
        client.max_queued_messages_set(MAX_QUEUED)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self.client = client

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; wait at most `connect_timeout_s` for the first connection,
        so the first crossings are not dropped when the broker is up. A broker that is down only
        costs that wait at start (a refused connection costs nothing)."""
        try:
            self.client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s)
        except (OSError, ValueError) as exc:  # e.g. an unresolvable host name
            log.warning("MQTT broker %s:%s: %s; messages are dropped until it is reachable",
                        self.settings.host, self.settings.port, exc)
        self.client.loop_start()
        if not self._connected.wait(self.settings.connect_timeout_s):
            log.warning("MQTT broker %s:%s not reachable yet; messages are dropped (and counted) until it is",
                        self.settings.host, self.settings.port)

    def close(self, timeout_s: float = 3.0) -> None:
        """Wait (bounded) for sent messages to be acknowledged, announce `offline`, disconnect."""
        deadline = time.monotonic() + timeout_s
        while self._connected.is_set() and time.monotonic() < deadline:
            self._prune()
            if not self._sent:
                break
            time.sleep(0.02)
        if self._connected.is_set():
            info = self.client.publish(self.availability_topic, "offline", qos=self.settings.qos, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()

    # -- what the worker hands over ----------------------------------------------------------------

    def publish_rows(self, rows: list[TableRow]) -> None:
        """Crossing rows (the same ones the sink writes: one event id) and occupancy samples."""
        for row in rows:
            if row.table == "crossing_events":
                self._crossing(row)

    def publish_occupancy(self, samples: Iterable[OccupancySample]) -> None:
        touched: set[tuple[str, str]] = set()
        last_second: dict[tuple[str, str], int] = {}
        for sample in samples:
            key = (sample.camera_id, sample.zone_id)
            self._occupancy.setdefault(key, {})[sample.class_name] = sample.occupancy
            touched.add(key)
            last_second[key] = max(last_second.get(key, 0), sample.second)
        for key in touched:
            now = dict(self._occupancy[key])
            if self._published_occupancy.get(key) == now:
                continue
            camera_id, zone_id = key
            payload = {"time": _iso(last_second[key]), "camera": camera_id, "zone": zone_id,
                       "occupancy": sum(now.values()), "classes": now}
            if self._send(f"{self._camera_topic(camera_id)}/{topic_part(zone_id)}/occupancy", payload, retain=True):
                self._published_occupancy[key] = now

    def _crossing(self, row: TableRow) -> None:
        values = dict(zip(RAW_TABLES["crossing_events"].columns, row.values, strict=True))
        camera_id = values["camera_id"]
        topic = f"{self._camera_topic(camera_id)}/{topic_part(values['line_id'])}/{values['direction']}"
        payload = {"time": _iso(values["time"]), "event_id": values["event_id"], "camera": camera_id,
                   "line": values["line_id"], "direction": values["direction"],
                   "class_name": values["class_name"], "track_id": values["track_id"]}
        self._send(topic, payload)

    def _camera_topic(self, camera_id: str) -> str:
        return f"{self.prefix}/{topic_part(self.sites.get(camera_id, '_'))}/{topic_part(camera_id)}"

    def _send(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> bool:
        """Hand one message to paho without waiting; False (and counted) when it is dropped."""
        if not self._connected.is_set():
            self.metrics.mqtt_dropped.inc()
            return False
        # No lock of ours around publish(): paho calls on_publish holding its own message lock.
        info = self.client.publish(topic, json.dumps(payload), qos=self.settings.qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:  # lost the connection meanwhile, or the queue is full
            self.metrics.mqtt_dropped.inc()
            return False
        self._sent.append(info)
        if len(self._sent) > 1000:
            self._prune()
        return True

    def _prune(self) -> None:
        while self._sent and self._sent[0].is_published():
            self._sent.popleft()

    # -- paho callbacks (its loop thread) -------------------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason)
            return
        client.publish(self.availability_topic, "online", qos=self.settings.qos, retain=True)
        self._connected.set()
        log.info("MQTT connected to %s:%s", self.settings.host, self.settings.port)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self._connected.is_set():
            log.warning("MQTT broker disconnected (%s); reconnecting with backoff", reason)
        self._connected.clear()  # paho sends what was in flight again once it reconnects

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self.metrics.mqtt_published.inc()  # QoS 1/2: the broker's acknowledgement (availability included)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""Prometheus `/metrics` on localhost: the same figures as `stream_health`, live.

A private registry per worker, so several workers (or tests) in one process never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from camcount.errors import ConfigError
from realtime_worker.sink import SinkStats
from realtime_worker.types import HealthSample

_HEALTH_GAUGES = (
    "input_fps", "processed_fps", "decode_ms_p50", "decode_ms_p95", "inference_ms_p50",
    "inference_ms_p95", "e2e_ms_p50", "e2e_ms_p95", "bitrate_kbps", "jitter_ms", "queue_depth", "quality",
)


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._health = {
            name: Gauge(f"camcount_{name}", f"Last stream_health {name} per camera", ["camera"], registry=self.registry)
            for name in _HEALTH_GAUGES
        }
        self.dropped_frames = Counter("camcount_dropped_frames", "Frames dropped by full live buffers",
                                      ["camera"], registry=self.registry)
        self.reconnects = Counter("camcount_reconnects", "Source reconnections", ["camera"], registry=self.registry)
        self.crossings = Counter("camcount_crossings", "Line crossings counted",
                                 ["camera", "line", "direction", "class_name"], registry=self.registry)
        self.spool_segments = Gauge("camcount_spool_segments", "Batches waiting in the local spool",
                                    registry=self.registry)
        self.spool_dropped_rows = Gauge("camcount_spool_dropped_rows", "Rows lost because the spool was full",
                                        registry=self.registry)
        self.database_up = Gauge("camcount_database_up", "1 when the last write reached the database",
                                 registry=self.registry)
        # Alarms: rows kept aside instead of written, and a stopped sink.
        self.deadletter_rows = Gauge("camcount_deadletter_rows", "Rows the database rejected, kept under deadletter/",
                                     registry=self.registry)
        self.quarantined_segments = Gauge("camcount_quarantined_segments",
                                          "Unreadable spool segments moved to quarantine/", registry=self.registry)
        self.spool_refused_segments = Gauge("camcount_spool_refused_segments",
                                            "Spool segments meant for another database, kept", registry=self.registry)
        self.sink_failed = Gauge("camcount_sink_failed", "1 when the sink stopped on an error", registry=self.registry)
        self.sink_backlog = Gauge("camcount_sink_backlog_rows", "Rows not yet in the database: waiting in memory "
                                  "plus spooled (stream_health.sink_backlog)", registry=self.registry)
        self.clock_skew = Gauge("camcount_clock_skew_seconds", "Last live frame's stamp minus the database's clock "
                                "(alarm beyond 300 s either way)", ["camera"], registry=self.registry)
        self.mqtt_published = Counter("camcount_mqtt_published_messages", "MQTT messages the broker acknowledged",
                                      registry=self.registry)
        self.mqtt_dropped = Counter("camcount_mqtt_dropped_messages", "MQTT messages dropped (broker unreachable "
                                    "or queue full); the database still has every row", registry=self.registry)
        self._server = None

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP endpoint; returns the bound port (0 picks a free one)."""
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"health.metrics_port: cannot serve /metrics on {host}:{port}: {exc.strerror or exc} "
                              "(another worker?); give each worker its own port, or null for no endpoint") from None
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record_sink(self, stats: SinkStats) -> None:
        self.spool_segments.set(stats.spool_segments)
        self.spool_dropped_rows.set(stats.dropped_rows)
        self.database_up.set(1 if stats.database_up else 0)
        self.deadletter_rows.set(stats.dead_lettered_rows)
        self.quarantined_segments.set(stats.quarantined_segments)
        self.spool_refused_segments.set(stats.refused_segments)
        self.sink_failed.set(1 if stats.failure else 0)

    def record_health(self, sample: HealthSample) -> None:
        for name, gauge in self._health.items():
            value = getattr(sample, name)
            if value is not None:
                gauge.labels(sample.camera_id).set(value)
        if sample.sink_backlog is not None:
            self.sink_backlog.set(sample.sink_backlog)
        self.dropped_frames.labels(sample.camera_id).inc(sample.dropped_frames)
        self.reconnects.labels(sample.camera_id).inc(sample.reconnects)

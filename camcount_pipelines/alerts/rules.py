"""Alert rules over raw.stream_health and raw.platform_events, and their lifecycle in ops.alerts.

Each evaluation computes which (rule, subject) pairs fire now. A firing pair with no active
alert opens one; one already active only refreshes last_seen_at (a partial unique index allows
one active alert per pair, so duplicates are impossible even with two evaluators); an active
alert whose subject was evaluated and no longer fires is resolved. Subjects that were not
evaluated (a camera silent for longer than the lookback) keep their alerts open.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

import dagster as dg
import psycopg
from psycopg import sql

from camcount.redact import redact_webhook_url
from camcount_pipelines.alerts.fleet import fleet_alerts

WEBHOOK_ENV = "CAMCOUNT_ALERT_WEBHOOK_URL"
PLATFORM = "platform"  # the subject of alerts about no one camera
# Rules evaluated where their event happens, not by `evaluate`: the ingest sensor (rows it cannot
# roll up) and the run status sensors (runs that failed for good).
ROWS_OUTSIDE_PARTITIONS = "rows_outside_partitions"
RUN_FAILED = "run_failed"
log = logging.getLogger(__name__)


class AlertRules(dg.ConfigurableResource):
    """Thresholds; the defaults are the product's. Override with CAMCOUNT_ALERT_<FIELD> env vars."""

    ingest_latency_warning_ms: float = 1000.0  # ingested_at - time, p95 over the window
    processing_latency_error_ms: float = 5000.0  # worker's e2e_ms_p95, max over the window
    sink_backlog_warning: int = 10000  # rows the worker holds that the database lacks: in memory + spooled
    offline_after_min: float = 5.0  # no health sample for this long
    data_gap_min: float = 2.0  # a hole this long between health samples within gap_lookback_min
    gap_lookback_min: float = 60.0
    window_s: float = 60.0  # latency and backlog rules look at this much recent health
    lookback_h: float = 24.0  # cameras silent longer than this are no longer evaluated
    unowned_after_s: float = 60.0  # fleet: a camera counted by no worker this long
    worker_silent_after_s: float = 30.0  # fleet: a worker without a heartbeat this long (leases last 10 s)

    @classmethod
    def from_env(cls) -> AlertRules:
        overrides = {}
        for name in cls.model_fields:
            value = os.environ.get(f"CAMCOUNT_ALERT_{name.upper()}")
            if value is not None:
                overrides[name] = float(value)
        return cls(**overrides)


@dataclass(frozen=True)
class Firing:
    rule: str
    subject: str
    severity: str
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class Transition:
    state: str  # opened | resolved
    alert_id: int
    rule: str
    subject: str
    severity: str
    message: str


_HEALTH_RULES = """
    SELECT camera_id,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - time) * 1000),
           max(e2e_ms_p95),
           max(sink_backlog)
    FROM raw.stream_health
    WHERE time > %(now)s - %(window_s)s * interval '1 second' AND time <= %(now)s
    GROUP BY camera_id
"""
_LIVENESS = """
    SELECT c.camera_id,
           extract(epoch FROM %(now)s - last.time)::float8 / 60,
           (SELECT max(gap) FROM (
               SELECT extract(epoch FROM time - lag(time) OVER (ORDER BY time))::float8 / 60 AS gap
               FROM raw.stream_health h
               WHERE h.camera_id = c.camera_id AND h.time <= %(now)s
                 AND h.time > %(now)s - %(gap_lookback_min)s * interval '1 minute') g),
           -- A source that played to its end (a file) after its last sample is done, not offline
           EXISTS (SELECT 1 FROM raw.platform_events e
                   WHERE e.camera_id = c.camera_id AND e.kind = 'source_finished' AND e.time <= %(now)s
                     AND e.time >= last.time - interval '1 minute')
    FROM ops.cameras c
    CROSS JOIN LATERAL (
        SELECT time FROM raw.stream_health h
        WHERE h.camera_id = c.camera_id AND h.time <= %(now)s
          AND h.time > %(now)s - %(lookback_h)s * interval '1 hour'
        ORDER BY time DESC LIMIT 1) last
"""
_PLATFORM_ERRORS = """
    SELECT coalesce(camera_id, %(platform)s), count(*), max(message)
    FROM raw.platform_events
    WHERE severity = 'error' AND time > %(now)s - %(window_s)s * interval '1 second' AND time <= %(now)s
    GROUP BY 1
"""


def evaluate(conn: psycopg.Connection, rules: AlertRules, now: datetime) -> tuple[list[Firing], dict[str, set | None]]:
    """What fires at `now`, and which subjects each rule looked at (None: every subject)."""
    params = {
        "now": now,
        "window_s": rules.window_s,
        "gap_lookback_min": rules.gap_lookback_min,
        "lookback_h": rules.lookback_h,
        "platform": PLATFORM,
    }
    firing: list[Firing] = []
    evaluated: dict[str, set | None] = {}
    health = conn.execute(_HEALTH_RULES, params).fetchall()
    for rule in ("ingest_latency", "processing_latency", "sink_backlog"):
        evaluated[rule] = {camera for camera, *_ in health}
    for camera, ingest_ms, processing_ms, backlog in health:
        if ingest_ms is not None and ingest_ms > rules.ingest_latency_warning_ms:
            firing.append(Firing("ingest_latency", camera, "warning", ingest_ms, rules.ingest_latency_warning_ms,
                                 f"{camera}: ingest latency p95 {ingest_ms:.0f} ms"))
        if processing_ms is not None and processing_ms > rules.processing_latency_error_ms:
            firing.append(Firing("processing_latency", camera, "error", processing_ms,
                                 rules.processing_latency_error_ms,
                                 f"{camera}: processing latency p95 {processing_ms:.0f} ms"))
        # The worker's queue is its sink backlog: queue_depth is only the capture buffer (a few frames).
        if backlog is not None and backlog > rules.sink_backlog_warning:
            firing.append(Firing("sink_backlog", camera, "warning", backlog, rules.sink_backlog_warning,
                                 f"{camera}: {backlog} rows waiting for the database (in memory and spooled)"))
    liveness = conn.execute(_LIVENESS, params).fetchall()
    evaluated["camera_offline"] = evaluated["data_gap"] = {camera for camera, *_ in liveness}
    for camera, silent_min, gap_min, finished in liveness:
        if finished:
            continue
        if silent_min > rules.offline_after_min:
            firing.append(Firing("camera_offline", camera, "error", silent_min, rules.offline_after_min,
                                 f"{camera}: no health sample for {silent_min:.1f} min"))
        elif gap_min is not None and gap_min > rules.data_gap_min:
            firing.append(Firing("data_gap", camera, "warning", gap_min, rules.data_gap_min,
                                 f"{camera}: {gap_min:.1f} min gap in health samples"))
    for subject, errors, message in conn.execute(_PLATFORM_ERRORS, params).fetchall():
        firing.append(Firing("platform_error", subject, "error", errors, 0,
                             f"{subject}: {errors} platform error(s), last: {message}"))
    evaluated["platform_error"] = None
    firing += [Firing(*alert) for alert in fleet_alerts(conn, now, rules.unowned_after_s, rules.worker_silent_after_s)]
    evaluated["camera_unowned"] = evaluated["worker_silent"] = None
    return firing, evaluated


def rows_outside_partitions(
    conn: psycopg.Connection, tables: Iterable[str], start: datetime, end: datetime
) -> list[Firing]:
    """Rows of the rolled-up raw `tables` timed outside [start, end), the hourly partitions: no
    rollup, mart or report counts them until their hour is a partition (never, before the start)."""
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT count(*), min(time), max(time) FROM {} WHERE time < %(start)s OR time >= %(end)s").format(
            sql.Identifier("raw", table))
        for table in tables
    )
    rows, first, last = conn.execute(
        sql.SQL("SELECT sum(n)::bigint, min(lo), max(hi) FROM ({}) AS t (n, lo, hi)").format(counts),
        {"start": start, "end": end},
    ).fetchone()
    if not rows:
        return []
    return [Firing(ROWS_OUTSIDE_PARTITIONS, PLATFORM, "error", rows, 0,
                   f"{rows} raw row(s) timed {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC, outside the hourly "
                   f"partitions [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}), are in no rollup: before "
                   "CAMCOUNT_PARTITIONS_START, or from a clock ahead (rolled up when their hour comes)")]


def apply(conn: psycopg.Connection, firing: list[Firing], evaluated: dict[str, set | None]) -> list[Transition]:
    """Open, refresh and resolve ops.alerts rows in one transaction; returns what changed."""
    changes: list[Transition] = []
    with conn.transaction():
        for f in firing:
            alert_id, opened = conn.execute(
                """INSERT INTO ops.alerts (rule, subject, severity, message, value, threshold)
                   VALUES (%(rule)s, %(subject)s, %(severity)s, %(message)s, %(value)s, %(threshold)s)
                   ON CONFLICT (rule, subject) WHERE resolved_at IS NULL DO UPDATE
                   SET last_seen_at = now(), value = EXCLUDED.value, message = EXCLUDED.message
                   RETURNING alert_id, xmax = 0""",
                asdict(f),
            ).fetchone()
            if opened:
                changes.append(Transition("opened", alert_id, f.rule, f.subject, f.severity, f.message))
        for rule, subjects in evaluated.items():
            still = [f.subject for f in firing if f.rule == rule]
            resolved = conn.execute(
                """UPDATE ops.alerts SET resolved_at = now()
                   WHERE resolved_at IS NULL AND rule = %(rule)s AND NOT (subject = ANY(%(still)s))
                     AND (%(all)s OR subject = ANY(%(subjects)s))
                   RETURNING alert_id, subject, severity, message""",
                {"rule": rule, "still": still, "all": subjects is None, "subjects": sorted(subjects or [])},
            ).fetchall()
            changes += [Transition("resolved", a, rule, s, sev, m) for a, s, sev, m in resolved]
    return changes


def notify(changes: list[Transition]) -> None:
    """POST each change to the webhook from the environment, if any; never log the URL unmasked."""
    url = os.environ.get(WEBHOOK_ENV)
    if not url or not changes:
        return
    for change in changes:
        request = urllib.request.Request(
            url, data=json.dumps(asdict(change)).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError as exc:
            log.warning("alert webhook %s failed: %s", redact_webhook_url(url), type(exc).__name__)

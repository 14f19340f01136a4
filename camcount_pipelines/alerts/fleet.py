"""Fleet alert rules (docs/deploy.md): a camera of the fleet config that nobody has counted for
`unowned_after_s`, and a worker whose heartbeat stopped. Both resolve on recovery: a camera
claimed again, a worker heartbeating again or gone (a clean stop removes its row)."""

from __future__ import annotations

from datetime import datetime

import psycopg

# Unowned since the later of its lease's end and its last apply (a new camera never claimed).
_UNOWNED = """
    SELECT c.camera_id, extract(epoch FROM %(now)s - greatest(l.expires_at, c.updated_at))::float8
    FROM ops.cameras c JOIN ops.camera_leases l USING (camera_id)
    WHERE c.source IS NOT NULL AND l.expires_at <= %(now)s
"""
_SILENT = """
    SELECT worker_id, extract(epoch FROM %(now)s - heartbeat_at)::float8 FROM ops.workers
    WHERE heartbeat_at <= %(now)s - %(silent_after_s)s * interval '1 second'
"""

Alert = tuple[str, str, str, float, float, str]  # rule, subject, severity, value, threshold, message


def fleet_alerts(conn: psycopg.Connection, now: datetime, unowned_after_s: float, silent_after_s: float) -> list[Alert]:
    """What fires now; both rules look at every subject (`evaluated` None): what no longer fires resolves."""
    params = {"now": now, "silent_after_s": silent_after_s}
    alerts: list[Alert] = [
        ("camera_unowned", camera, "error", unowned_s, unowned_after_s,
         f"{camera}: counted by no worker for {unowned_s:.0f} s (`camcount fleet status`)")
        for camera, unowned_s in conn.execute(_UNOWNED, params).fetchall() if unowned_s > unowned_after_s]
    alerts += [("worker_silent", worker, "error", silent_s, silent_after_s,
                f"worker {worker}: no heartbeat for {silent_s:.0f} s; its cameras move to the others")
               for worker, silent_s in conn.execute(_SILENT, params).fetchall()]
    return alerts

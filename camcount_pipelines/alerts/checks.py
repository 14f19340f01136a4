"""The `active_alerts` check on raw/stream_health: alerts show where operators look. The alert
sensor reports it on every change; the scheduled raw checks evaluate it too."""

import dagster as dg
import psycopg

from camcount_pipelines.raw.assets import raw_key
from camcount_pipelines.resources import TimescaleResource

ACTIVE_ALERTS_CHECK = dg.AssetCheckKey(raw_key("stream_health"), "active_alerts")


def active_alerts_evaluation(conn: psycopg.Connection) -> dg.AssetCheckEvaluation:
    """Fails while alerts are active: ERROR if any is an error, else WARN."""
    active = conn.execute(
        """SELECT rule, subject, severity, message, opened_at FROM ops.alerts
           WHERE resolved_at IS NULL ORDER BY opened_at"""
    ).fetchall()
    errors = any(severity == "error" for _, _, severity, _, _ in active)
    table = "\n".join(
        ["| rule | subject | severity | since | message |", "|---|---|---|---|---|"]
        + [f"| {r} | {s} | {sev} | {o:%Y-%m-%d %H:%M} | {m} |" for r, s, sev, m, o in active[:50]]
    )
    return dg.AssetCheckEvaluation(
        asset_key=ACTIVE_ALERTS_CHECK.asset_key,
        check_name=ACTIVE_ALERTS_CHECK.name,
        passed=not active,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata={"active_alerts": len(active), "alerts": dg.MetadataValue.md(table)},
    )


@dg.asset_check(
    asset=ACTIVE_ALERTS_CHECK.asset_key,
    name=ACTIVE_ALERTS_CHECK.name,
    description="Fails while ops.alerts has active alerts (the alert sensor also reports this on every change).",
)
def active_alerts(timescale: TimescaleResource) -> dg.AssetCheckResult:
    with timescale.connection() as conn:
        evaluation = active_alerts_evaluation(conn)
    return dg.AssetCheckResult(passed=evaluation.passed, severity=evaluation.severity, metadata=evaluation.metadata)

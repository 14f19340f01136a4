"""The alert sensor: evaluates the rules every 30 s, keeps ops.alerts current, notifies the
webhook, and reports the state as the `active_alerts` check on raw/stream_health so the UI
shows alerts where operators look."""

from datetime import UTC, datetime

import dagster as dg

from camcount_pipelines.alerts import rules
from camcount_pipelines.alerts.checks import active_alerts_evaluation
from camcount_pipelines.resources import TimescaleResource


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Opens, deduplicates and resolves ops.alerts from stream health and platform events.",
)
def alerts_sensor(
    context: dg.SensorEvaluationContext, timescale: TimescaleResource, alert_rules: rules.AlertRules
) -> dg.SensorResult | dg.SkipReason:
    with timescale.connection() as conn:
        firing, evaluated = rules.evaluate(conn, alert_rules, datetime.now(UTC))
        changes = rules.apply(conn, firing, evaluated)
        evaluation = active_alerts_evaluation(conn) if changes else None
    for change in changes:
        log = context.log.info if change.state == "resolved" else context.log.warning
        log(f"alert {change.state}: [{change.severity}] {change.message}")
    rules.notify(changes)
    if evaluation is None:
        return dg.SkipReason("no alert opened or resolved")
    return dg.SensorResult(asset_events=[evaluation])
